package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.migration.DataLoss;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.migration.Rehearsed;
import dev.lockstep.coordinator.migration.ScratchClone;
import dev.lockstep.coordinator.migration.locks.HeldLocks;
import dev.lockstep.coordinator.migration.locks.LockHints;
import dev.lockstep.coordinator.migration.locks.LockMode;
import dev.lockstep.coordinator.migration.locks.RehearsalWatch;
import dev.lockstep.coordinator.migration.locks.StepAside;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.LockFootprint;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.CatalogDiff;
import dev.lockstep.rules.CatalogSnapshot;
import dev.lockstep.rules.CatalogSnapshot.Relation;
import dev.lockstep.rules.Repairs;
import dev.lockstep.rules.SqlScript;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the planned repairs and then the pending migrations inside one transaction that is always
 * rolled back, and compares the schema before and after each migration. Repairs go first because a
 * migration may only succeed once its repair is made (a foreign key to a table whose primary key is
 * being restored). This catches a migration that would fail before any server is drained, says
 * what each migration does to old code, and counts the rows or values a drop would lose.
 *
 * <p>It also measures each migration's lock footprint: the table locks it takes ({@code pg_locks}, after it), on
 * which existing tables, their size, and how long the rehearsal held them. It takes the same locks the migrations
 * would, so while it holds one the application may wait. It does not make the application pay a long lock twice:
 * once a session has waited on it for {@link StepAside#after()} (50 ms), it cancels its statement, rolls back, and
 * rehearses that migration and the rest on a schema-only clone ({@link ScratchClone}, no rows), from where it still
 * learns whether they would fail for any reason but the data, what they change and which locks they take. What the
 * clone cannot catch (a failure that depends on rows) is said in a {@code rehearsal-clone} finding. It sets a
 * {@code lock_timeout} so it never waits long for the application either.
 *
 * <pre>{@code Rehearsed r = new FlywayRehearsal(database, Duration.ofSeconds(5), StepAside.DEFAULT).run(connection, plan, repairs);}</pre>
 */
public final class FlywayRehearsal {

  /** PostgreSQL's "invalid transaction termination": a COMMIT inside a procedure CALLed in a transaction block. */
  static final String INVALID_TRANSACTION_TERMINATION = "2D000";
  /** The finding that says which migrations were rehearsed on a clone, and what that cannot catch. */
  public static final String CLONE_RULE = "rehearsal-clone";

  private static final Logger log = LoggerFactory.getLogger(FlywayRehearsal.class);

  private final DatabaseUrl database;
  private final Duration lockTimeout;
  private final StepAside stepAside;
  private final RehearsalPass.Reads reads;

  /**
   * @param database the live database, for the watch's own connection and the clone; null: neither (never steps aside)
   */
  public FlywayRehearsal(DatabaseUrl database, Duration lockTimeout, StepAside stepAside) {
    this(database, lockTimeout, stepAside, RehearsalPass.Reads.ON_CHANGE);
  }

  private FlywayRehearsal(DatabaseUrl database, Duration lockTimeout, StepAside stepAside, RehearsalPass.Reads reads) {
    this.database = database;
    this.lockTimeout = lockTimeout;
    this.stepAside = database == null ? StepAside.NEVER : stepAside;
    this.reads = reads;
  }

  /**
   * The same rehearsal reading the whole catalog after every migration, as it did before it probed first (see {@link
   * RehearsalPass}): slower, with the same findings. For tests that hold the two to that, and for measuring the probe.
   */
  public FlywayRehearsal readingTheCatalogAfterEveryMigration() {
    return new FlywayRehearsal(database, lockTimeout, stepAside, RehearsalPass.Reads.EVERY_MIGRATION);
  }

  /** {@code connection} must not be in autocommit; whatever happens, everything is rolled back. */
  public Rehearsed run(Connection connection, MigrationPlan plan, List<String> repairs) throws SQLException {
    if (connection.getAutoCommit()) {
      throw new IllegalArgumentException("the rehearsal needs a connection in a transaction it can roll back");
    }
    try {
      return rehearse(connection, plan, repairs, stepAside);
    } finally {
      connection.rollback();
    }
  }

  private Rehearsed rehearse(Connection connection, MigrationPlan plan, List<String> repairs, StepAside policy)
      throws SQLException {
    Map<Long, String> existing = HeldLocks.existingTables(connection);
    Savepoint start = connection.setSavepoint();
    try {
      Live live = new Live();
      try (RehearsalWatch watch = watch(connection, policy)) {
        Rehearsed failed = rehearseLive(connection, plan, repairs, existing, watch, live);
        if (failed != null) {
          return failed;
        }
        live.waiter = watch.waiter();
      } // the watch is stopped here: no cancel arrives after this
      if (live.pass != null && live.pass.cutAt() < 0 && live.pass.failure() == null) {
        return finishedLive(connection, live);
      }
      rollbackAfterCancel(connection, start);
      try {
        return onClone(connection, plan, repairs, live);
      } catch (LockstepException e) {
        // No clone to be had (no CREATEDB, no pg_dump): hold on as the rehearsal did before it could step aside,
        // rather than rehearse less than before.
        log.warn("the rehearsal stepped aside for the application but cannot go on on a clone ({}); rehearsing on the"
            + " live database again, holding its locks", e.getMessage());
        connection.rollback(start);
        return rehearse(connection, plan, repairs, StepAside.NEVER).noting(List.of(new Finding(CLONE_RULE, Severity.INFO,
            "migrations", "the rehearsal stepped aside for the application" + (live.waiter == null ? ""
                : " (" + live.waiter + ")") + " but could not go on on a schema-only clone (" + e.getMessage()
                + "), so it ran again on the live database holding its locks: the application waited for them in the"
                + " rehearsal too", List.of())));
      }
    } finally {
      connection.rollback(start);
    }
  }

  /** What the live part of the rehearsal left: its pass (null if it stepped aside in the repairs) and why it stopped. */
  private static final class Live {
    RehearsalPass pass;
    Savepoint baseline;
    CatalogSnapshot baselineCatalog;
    String waiter;
    /** The locks the repairs took, each under the first repair holding that mode (or a stronger one) on its table. */
    final List<RepairLock> repairLocks = new ArrayList<>();
    /** When the last repair ended (System.nanoTime); 0 while they run, and if the rehearsal stepped aside in them. */
    long repairsEndNanos;
  }

  /**
   * A lock a repair took on a table that existed before the release. MIGRATING makes the repairs in a transaction of
   * their own before the migrations', so the release holds it from the repair to the end of the repairs.
   */
  private record RepairLock(String repair, String table, LockMode mode, long startedNanos, long repairNanos) {}

  /**
   * Rolls back to {@code start}, releasing every lock the rehearsal took. A cancel the watch sent just before it stopped
   * is dropped by an idle backend; should one still land on this statement, it is run again.
   */
  private static void rollbackAfterCancel(Connection connection, Savepoint start) throws SQLException {
    try {
      connection.rollback(start);
    } catch (SQLException e) {
      if (!"57014".equals(e.getSQLState())) {
        throw e;
      }
      connection.rollback(start);
    }
  }

  private RehearsalWatch watch(Connection connection, StepAside policy) throws SQLException {
    if (policy.never()) {
      return RehearsalWatch.none();
    }
    int backend;
    try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      backend = rs.getInt(1);
    }
    Connection watching;
    try {
      watching = new Connections(database).open("lockstep-rehearsal-watch");
    } catch (SQLException e) {
      // Without a second connection nothing can see who waits: the rehearsal holds on, as it did before.
      log.warn("the rehearsal cannot watch for sessions waiting on its locks ({}); it will not step aside for them",
          e.getMessage());
      return RehearsalWatch.none();
    }
    return RehearsalWatch.start(watching, backend, policy);
  }

  /** Runs repairs and migrations on the live database; returns the failed rehearsal, or null (finished or cut). */
  private Rehearsed rehearseLive(Connection connection, MigrationPlan plan, List<String> repairs,
                                 Map<Long, String> existing, RehearsalWatch watch, Live live) throws SQLException {
    List<String> transactional = repairs.stream().filter(Repairs::isTransactional).toList();
    try (Statement s = connection.createStatement();
         RehearsalProbe probe = transactional.isEmpty() ? null : new RehearsalProbe(connection, existing)) {
      s.execute("SET LOCAL lock_timeout = '" + lockTimeout.toMillis() + "ms'");
      s.execute("SET LOCAL statement_timeout = '5min'");
      Map<String, LockMode> held = new HashMap<>();
      for (String repair : transactional) {
        if (watch.steppedAside()) {
          return null;
        }
        long started = System.nanoTime();
        try {
          s.execute(repair);
        } catch (SQLException e) {
          if (watch.steppedAside()) {
            return null;
          }
          return Rehearsed.failed("rehearsal: repair " + repair + " would fail: " + e.getMessage(), null, List.of(),
              Set.of());
        }
        long ran = System.nanoTime() - started;
        // The repair's footprint, as a migration's: a restored primary key builds its index under ACCESS EXCLUSIVE.
        HeldLocks.taken(held, probe.look().locks()).forEach((table, mode) ->
            live.repairLocks.add(new RepairLock(repair, table, mode, started, ran)));
      }
      live.repairsEndNanos = System.nanoTime();
    } catch (SQLException e) {
      if (watch.steppedAside()) {
        return null; // our own cancel: everything goes to the clone
      }
      throw e;
    }
    try {
      live.baseline = connection.setSavepoint();
      live.baselineCatalog = CatalogSnapshot.readRelations(connection);
      live.pass = new RehearsalPass(connection, existing, watch, "rehearsal", lockTimeout, reads);
      live.pass.run(plan.pending(), 0, live.baselineCatalog);
    } catch (SQLException e) {
      if (watch.steppedAside()) {
        live.pass = null; // cut before the first migration began: everything goes to the clone
        return null;
      }
      throw e;
    }
    return live.pass.cutAt() < 0 ? live.pass.failure() : null;
  }

  private Rehearsed finishedLive(Connection connection, Live live) throws SQLException {
    RehearsalPass pass = live.pass;
    Set<String> locked = lockedTables(connection, live.baselineCatalog);
    connection.rollback(live.baseline);
    List<DataLoss> loss = DataLoss.count(connection, live.baselineCatalog, pass.dropped);
    List<DataLoss> contractLoss = DataLoss.count(connection, live.baselineCatalog, pass.contractDropped);
    List<LockFootprint> locks = repairFootprints(live, 0);
    for (RehearsalPass.Taken t : pass.taken) {
      locks.add(footprint(t, ms(pass.endNanos() - t.startedNanos()), ms(t.migrationNanos()), false));
    }
    return new Rehearsed(null, pass.effects, loss, pass.skipped, locked, null, null, List.of(), pass.contractEffects,
        contractLoss, sized(connection, locks));
  }

  /**
   * The rest of the rehearsal, from the migration it stepped aside in, on a schema-only clone: the repairs and the
   * migrations the live database already passed are replayed there first, unmeasured, to reach the same schema.
   */
  private Rehearsed onClone(Connection connection, MigrationPlan plan, List<String> repairs, Live live)
      throws SQLException {
    List<PendingMigration> pending = plan.pending();
    RehearsalPass before = live.pass;
    int cut = before == null ? 0 : before.cutAt();
    CatalogSnapshot liveCatalog = CatalogSnapshot.readRelations(connection); // rolled back: as it was
    String where = "rehearsal on a schema-only clone";
    RehearsalPass rest;
    long started = System.nanoTime();
    long cloneStartedNanos = started;
    ScratchClone.sweep(database);
    try (ScratchClone clone = ScratchClone.create(database, "the rest of a pre-flight rehearsal that stepped aside for"
        + " the application, from " + (cut < pending.size() ? pending.get(cut).label() : "the repairs"));
        Connection c = new Connections(clone.url()).open("lockstep-rehearsal")) {
      c.setAutoCommit(false);
      Map<Long, String> existing = HeldLocks.existingTables(c);
      try (Statement s = c.createStatement()) {
        s.execute("SET LOCAL statement_timeout = '5min'");
        var repairFailed = Rehearsed.repairsFail(s, repairs);
        if (repairFailed.isPresent()) {
          return repairFailed.get();
        }
      }
      for (int i = 0; i < cut; i++) {
        PendingMigration m = pending.get(i);
        if (!before.skipped.contains(m)) {
          try {
            ScriptRunner.run(c, m);
          } catch (SQLException e) {
            return Rehearsed.failed(where + ": migration " + m.label() + " would fail: " + e.getMessage()
                + (e.getSQLState() == null ? "" : " (SQL state " + e.getSQLState() + ")"), m, List.of(), Set.of());
          }
        }
      }
      rest = new RehearsalPass(c, existing, RehearsalWatch.none(), where, lockTimeout, reads);
      rest.run(pending, cut, CatalogSnapshot.readRelations(c));
      c.rollback();
    }
    long cloneMs = ms(System.nanoTime() - started);
    if (rest.failure() != null) {
      return rest.failure();
    }
    List<String> effects = new ArrayList<>();
    List<CatalogDiff.Dropped> dropped = new ArrayList<>();
    List<String> contractEffects = new ArrayList<>();
    List<CatalogDiff.Dropped> contractDropped = new ArrayList<>();
    long cutNanos = before == null ? 0 : before.endNanos();
    // Stepped aside in the repairs: those measured held their locks until then, and the release holds them longer.
    List<LockFootprint> locks = repairFootprints(live, live.repairsEndNanos == 0 ? cloneStartedNanos : 0);
    if (before != null) {
      effects.addAll(before.effects);
      dropped.addAll(before.dropped);
      contractEffects.addAll(before.contractEffects);
      contractDropped.addAll(before.contractDropped);
      for (RehearsalPass.Taken t : before.taken) {
        locks.add(footprint(t, ms(cutNanos - t.startedNanos()), ms(t.migrationNanos()), true));
      }
    }
    effects.addAll(rest.effects);
    dropped.addAll(rest.dropped);
    contractEffects.addAll(rest.contractEffects);
    contractDropped.addAll(rest.contractDropped);
    for (RehearsalPass.Taken t : rest.taken) {
      if (before != null && t.index() == cut && before.cutInside()) {
        // The migration it stepped aside in: timed on the live database until then, its locks read on the clone.
        long held = ms(cutNanos - before.cutStartedNanos());
        locks.add(footprint(t, held, held, true));
      } else {
        locks.add(footprint(t, null, null, false));
      }
    }
    List<DataLoss> loss = DataLoss.count(connection, liveCatalog, dropped);
    List<DataLoss> contractLoss = DataLoss.count(connection, liveCatalog, contractDropped);
    Set<String> locked = new TreeSet<>();
    locks.forEach(l -> locked.add(l.table()));
    List<PendingMigration> onClone = pending.subList(cut, pending.size()).stream()
        .filter(m -> !rest.skipped.contains(m)).toList();
    Finding note = new Finding(CLONE_RULE, Severity.WARN, "migrations", "the rehearsal stepped aside for the application"
        + (live.waiter == null ? "" : " (" + live.waiter + ")") + " after holding its locks "
        + (before == null ? "in the repairs" : before.cutInside() ? ms(cutNanos - before.cutStartedNanos()) + " ms in "
            + pending.get(cut).label() : "through the migrations before " + pending.get(cut).label())
        + ", so that the application waits for a long lock once, when the release migrates, not twice; "
        + (onClone.isEmpty() ? "the rest" : String.join(", ", onClone.stream().map(PendingMigration::label).toList()))
        + " were rehearsed on a schema-only clone (no rows, " + cloneMs + " ms): failures that depend on the data (a unique"
        + " index over duplicates, a constraint existing rows break, a data migration) are not rehearsed for them; a"
        + " release that meets one still fails cleanly in MIGRATING, all or nothing", List.of());
    return new Rehearsed(null, effects, loss, rest.skipped, locked, null, null, List.of(note), contractEffects,
        contractLoss, sized(connection, locks));
  }

  /**
   * The repairs' locks, held (as MIGRATING holds them) from each repair to the end of the repairs; or, with {@code
   * cutNanos} not 0, to then, cut short (the rehearsal stepped aside in the repairs). Each named {@code repair:
   * <statement>}, with a hint for making the repair beforehand without the long lock.
   */
  private static List<LockFootprint> repairFootprints(Live live, long cutNanos) {
    List<LockFootprint> locks = new ArrayList<>();
    long end = cutNanos != 0 ? cutNanos : live.repairsEndNanos;
    for (RepairLock r : live.repairLocks) {
      String hint = hint(r.mode(), r.table(), SqlScript.parse(r.repair()).statements()).map(h -> "Lockstep makes this"
          + " repair in the release; to spare the application the wait, make it before the release: " + h).orElse(null);
      locks.add(new LockFootprint("repair: " + r.repair(), r.table(), r.mode().sqlName(), r.mode().blocks(), null, null,
          ms(end - r.startedNanos()), ms(r.repairNanos()), cutNanos != 0, hint));
    }
    return locks;
  }

  private static LockFootprint footprint(RehearsalPass.Taken t, Long heldMs, Long migrationMs, boolean cutShort) {
    return new LockFootprint(t.migration().label(), t.table(), t.mode().sqlName(), t.mode().blocks(), null, null,
        heldMs, migrationMs, cutShort, hint(t.mode(), t.table(), ScriptRunner.statementsToRun(t.migration())).orElse(null));
  }

  /**
   * How to spare the application the wait a lock of {@code mode} on {@code table} makes, from the statements that took
   * it; none for a lock that blocks nothing.
   */
  private static java.util.Optional<String> hint(LockMode mode, String table, List<SqlScript.Statement> statements) {
    return mode.blocks().isEmpty() ? java.util.Optional.empty()
        : LockHints.hint(statements, table.substring(table.indexOf('.') + 1));
  }

  /** The footprints with their tables' sizes, read on the live database. */
  private static List<LockFootprint> sized(Connection live, List<LockFootprint> locks) throws SQLException {
    Map<String, HeldLocks.Size> sizes = HeldLocks.sizes(live, locks.stream().map(LockFootprint::table).distinct().toList());
    return locks.stream().map(l -> {
      HeldLocks.Size size = sizes.get(l.table());
      return size == null ? l : l.sized(size.rows(), size.bytes());
    }).toList();
  }

  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  /** The existing tables this transaction holds a lock on that conflicts with other sessions' writes (or reads). */
  private static Set<String> lockedTables(Connection c, CatalogSnapshot baseline) throws SQLException {
    Map<Long, Relation> relations = CatalogDiff.relations(baseline);
    Set<String> tables = new TreeSet<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT DISTINCT relation::bigint FROM pg_locks"
        + " WHERE pid = pg_backend_pid() AND locktype = 'relation' AND mode IN ('ShareUpdateExclusiveLock', 'ShareLock',"
        + " 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')")) {
      while (rs.next()) {
        Relation r = relations.get(rs.getLong(1));
        if (r != null) {
          tables.add(r.name().toString());
        }
      }
    }
    return tables;
  }
}
