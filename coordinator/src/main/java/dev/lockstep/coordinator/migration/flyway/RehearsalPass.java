package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.migration.Rehearsed;
import dev.lockstep.coordinator.migration.locks.HeldLocks;
import dev.lockstep.coordinator.migration.locks.LockMode;
import dev.lockstep.coordinator.migration.locks.RehearsalWatch;
import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.CatalogDiff;
import dev.lockstep.rules.CatalogSnapshot;
import dev.lockstep.rules.CatalogSnapshot.Relation;
import dev.lockstep.rules.SqlScript;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One run of a plan's pending migrations on one connection, in its transaction (the live database's, or a schema-only
 * clone's), measuring each migration as it goes: what it does that old code cannot live with (the catalog before and
 * after), what it drops, and which table locks it takes ({@code pg_locks}, read after it, since a transaction keeps its
 * locks until it ends). On the live database a {@link RehearsalWatch} may ask it to step aside; it then stops at once
 * and says where ({@link #cutAt()}).
 *
 * <p>After each migration it makes one round trip, a {@link RehearsalProbe}: the transaction (still the rehearsal's),
 * the locks, and a digest of the relations the catalog comparison judges. Only when that digest changed does it read
 * the catalog ({@link CatalogSnapshot#readRelations}, four queries over every user relation) and compare; a migration
 * that changed nothing old code uses (a new table, an index, rows) cannot add to what the comparison finds. With
 * {@link Reads#EVERY_MIGRATION} it reads the catalog after every migration, as it did before the probe (for tests that
 * hold the two to the same findings).
 */
final class RehearsalPass {
  /** When the pass reads the whole catalog after a migration. */
  enum Reads {
    /** When the probe's digest of the judged relations changed: the default. */
    ON_CHANGE,
    /** After every migration, whatever the probe says. */
    EVERY_MIGRATION
  }

  /** A lock a migration took: the first migration that holds {@code mode} (or stronger) on {@code table}. */
  record Taken(int index, PendingMigration migration, String table, LockMode mode, long startedNanos,
               long migrationNanos) {}

  private final Connection connection;
  private final Map<Long, String> existing;
  private final RehearsalWatch watch;
  private final String where;
  private final Duration lockTimeout;
  private final Reads reads;
  private final long transaction;

  final List<String> effects = new ArrayList<>();
  final List<CatalogDiff.Dropped> dropped = new ArrayList<>();
  // The contract migrations come last and are rehearsed last, on the schema the others left, as they will run.
  final List<String> contractEffects = new ArrayList<>();
  final List<CatalogDiff.Dropped> contractDropped = new ArrayList<>();
  final List<PendingMigration> skipped = new ArrayList<>();
  final List<Taken> taken = new ArrayList<>();
  private final Map<String, LockMode> held = new HashMap<>();

  private Rehearsed failure;
  private int cutAt = -1;
  private long cutStartedNanos;
  private boolean cutInside;
  private long endNanos;
  private int catalogReads;

  /**
   * @param existing the tables that existed before the release, OID → name, on this connection's database
   * @param where how messages name this rehearsal: {@code rehearsal}, {@code rehearsal on a schema-only clone}
   */
  RehearsalPass(Connection connection, Map<Long, String> existing, RehearsalWatch watch, String where,
                Duration lockTimeout, Reads reads) throws SQLException {
    this.connection = connection;
    this.existing = existing;
    this.watch = watch;
    this.where = where;
    this.lockTimeout = lockTimeout;
    this.reads = reads;
    this.transaction = currentTransaction(connection);
  }

  /** The failed rehearsal, if a migration would fail; null otherwise. */
  Rehearsed failure() {
    return failure;
  }

  /** The index of the migration at which the pass stepped aside for the application, or -1. */
  int cutAt() {
    return cutAt;
  }

  /** When the migration it stepped aside in started (System.nanoTime). */
  long cutStartedNanos() {
    return cutStartedNanos;
  }

  /** Whether that migration had begun to run on this connection (else it stepped aside just before it). */
  boolean cutInside() {
    return cutInside;
  }

  /** When the last migration ended (System.nanoTime), or when it stepped aside. */
  long endNanos() {
    return endNanos;
  }

  /**
   * Runs {@code pending} from {@code from} on, each after the schema the one before left ({@code before}, read on this
   * connection). Stops at the first failure ({@link #failure()}) or when the watch says to step aside ({@link #cutAt()}).
   */
  void run(List<PendingMigration> pending, int from, CatalogSnapshot before) throws SQLException {
    try (RehearsalProbe probe = new RehearsalProbe(connection, existing)) {
      run(pending, from, before, probe);
    }
  }

  private void run(List<PendingMigration> pending, int from, CatalogSnapshot before, RehearsalProbe probe)
      throws SQLException {
    CatalogSnapshot baseline = before;
    RehearsalProbe.Seen seen = probe.look();
    // What is held already (the repairs', the replayed migrations') is no migration's of this pass.
    held.putAll(seen.locks());
    String judged = seen.judged();
    for (int i = from; i < pending.size(); i++) {
      PendingMigration m = pending.get(i);
      // Past a migration that cannot run in a transaction, later ones may depend on what it built:
      // rehearsing them without it would fail for nothing, so they are not rehearsed either.
      if (!skipped.isEmpty() || !m.transactional()) {
        skipped.add(m);
        continue;
      }
      if (m.unmarkedTransactionControl() != null) {
        // Pre-flight refuses such a script before the rehearsal; never execute what could commit.
        failure = Rehearsed.failed(where + ": migration " + m.label() + " has " + m.unmarkedTransactionControl().describe()
            + " and was not run", m, skipped, Set.of());
        return;
      }
      long started = System.nanoTime();
      boolean begun = false;
      try {
        for (SqlScript.Statement statement : ScriptRunner.statementsToRun(m)) {
          if (watch.steppedAside()) {
            stepAside(i, started, begun);
            return;
          }
          begun = true;
          ScriptRunner.run(connection, List.of(statement));
        }
        long ran = System.nanoTime() - started;
        seen = probe.look();
        requireSameTransaction(m, seen.transaction());
        if (reads == Reads.EVERY_MIGRATION || !seen.judged().equals(judged)) {
          CatalogSnapshot now = CatalogSnapshot.readRelations(connection);
          // Tables this release created earlier are no old code's: only what existed before the release is judged.
          CatalogDiff diff = CatalogDiff.between(before, now, r -> (r.kind() != Relation.Kind.TABLE
              && r.kind() != Relation.Kind.PARTITIONED_TABLE) || existing.containsKey(r.oid()));
          diff.breaking().forEach(b -> (m.contract() ? contractEffects : effects).add(m.label() + " " + b));
          (m.contract() ? contractDropped : dropped).addAll(diff.dropped());
          before = now;
          judged = seen.judged();
          catalogReads++;
        }
        for (Map.Entry<String, LockMode> lock : HeldLocks.taken(held, seen.locks()).entrySet()) {
          taken.add(new Taken(i, m, lock.getKey(), lock.getValue(), started, ran));
        }
      } catch (SQLException e) {
        if (watch.steppedAside()) {
          // Our own cancel, or the transaction it aborted: not the migration's fault.
          stepAside(i, started, true);
          return;
        }
        try {
          requireSameTransaction(m, currentTransaction(connection));
        } catch (SQLException aborted) {
          if (!"25P02".equals(aborted.getSQLState())) {
            throw aborted;
          }
          // the transaction is aborted by the failed statement: still ours, and it will be rolled back
        }
        failure = failed(m, e, baseline);
        return;
      }
      endNanos = System.nanoTime();
    }
  }

  /** How many times the pass read the whole catalog after a migration (the probe said something judged changed). */
  int catalogReads() {
    return catalogReads;
  }

  private void stepAside(int index, long started, boolean inside) {
    cutAt = index;
    cutStartedNanos = started;
    cutInside = inside;
    endNanos = System.nanoTime();
  }

  private Rehearsed failed(PendingMigration m, SQLException e, CatalogSnapshot baseline) {
    if (FlywayRehearsal.INVALID_TRANSACTION_TERMINATION.equals(e.getSQLState())) {
      String why = where + ": migration " + m.label() + " tried to end the release's transaction (" + e.getMessage()
          + "): a procedure it calls, or a DO block, commits, so it cannot run inside the release's transaction";
      return Rehearsed.failed(why, m, skipped, Set.of()).blockedBy(new Finding(FlywayFindings.CONTROL,
          Severity.BLOCK, FlywayFindings.name(m), why + "; nothing was changed. " + capitalized(m.howToMark()),
          List.of()));
    }
    if ("55P03".equals(e.getSQLState())) {
      // PostgreSQL does not say whose lock it waited for; the tables the migration names are the suspects.
      return Rehearsed.failed(where + ": migration " + m.label() + " could not get its lock within lock_timeout "
          + lockTimeout.toMillis() + " ms: another session holds a lock on a table it changes (see blocking-sessions)",
          m, skipped, tablesNamedIn(m.sql(), baseline));
    }
    return Rehearsed.failed(where + ": migration " + m.label() + " would fail: " + e.getMessage()
        + (e.getSQLState() == null ? "" : " (SQL state " + e.getSQLState() + ")"), m, skipped, Set.of());
  }

  private static Set<String> tablesNamedIn(String sql, CatalogSnapshot shape) {
    Set<String> names = SqlScript.names(sql);
    Set<String> tables = new TreeSet<>();
    for (Relation r : CatalogDiff.relations(shape).values()) {
      String name = r.name().name();
      if (names.contains(name) || names.contains(name.toLowerCase(java.util.Locale.ROOT))) {
        tables.add(r.name().toString());
      }
    }
    return tables;
  }

  static long currentTransaction(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT txid_current()")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * The rehearsal must never commit. Statements that could are refused before they run; this checks
   * the outcome too, so a way to commit that the classifier missed fails loudly instead of silently.
   */
  private void requireSameTransaction(PendingMigration m, long now) {
    if (now != transaction) {
      throw new IllegalStateException("the rehearsal's transaction " + transaction + " ended while rehearsing migration "
          + m.label() + " (now " + now + "): something in it committed although nothing that can commit should run here;"
          + " this is a bug in Lockstep's statement classifier, please report it with the migration");
    }
  }


  private static String capitalized(String text) {
    return text.isEmpty() ? text : Character.toUpperCase(text.charAt(0)) + text.substring(1);
  }
}
