package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.DataLoss;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.migration.Rehearsed;
import dev.lockstep.protocol.Finding;
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
import java.util.List;
import java.util.Optional;

/**
 * Runs the planned repairs and then the pending migrations inside one transaction that is always
 * rolled back, and compares the schema before and after each migration. Repairs go first because a
 * migration may only succeed once its repair is made (a foreign key to a table whose primary key is
 * being restored). This catches a migration that would fail before any server is drained, says
 * what each migration does to old code, and counts the rows or values a drop would lose.
 *
 * <p>The rehearsal takes the same locks the migrations would, for as long as it runs; it sets a
 * {@code lock_timeout} so it never queues the application's queries behind it for long.
 *
 * <pre>{@code Rehearsed r = new FlywayRehearsal(Duration.ofSeconds(5)).run(connection, plan, repairs);}</pre>
 */
public final class FlywayRehearsal {

  /** PostgreSQL's "invalid transaction termination": a COMMIT inside a procedure CALLed in a transaction block. */
  static final String INVALID_TRANSACTION_TERMINATION = "2D000";

  private final Duration lockTimeout;

  public FlywayRehearsal(Duration lockTimeout) {
    this.lockTimeout = lockTimeout;
  }

  /** {@code connection} must not be in autocommit; whatever happens, everything is rolled back. */
  public Rehearsed run(Connection connection, MigrationPlan plan, List<String> repairs) throws SQLException {
    if (connection.getAutoCommit()) {
      throw new IllegalArgumentException("the rehearsal needs a connection in a transaction it can roll back");
    }
    long transaction = currentTransaction(connection);
    Savepoint start = connection.setSavepoint();
    try (Statement s = connection.createStatement()) {
      s.execute("SET LOCAL lock_timeout = '" + lockTimeout.toMillis() + "ms'");
      s.execute("SET LOCAL statement_timeout = '5min'");
      Optional<Rehearsed> repairFailed = Rehearsed.repairsFail(s, repairs);
      if (repairFailed.isPresent()) {
        return repairFailed.get();
      }
      Savepoint baseline = connection.setSavepoint();
      List<String> effects = new ArrayList<>();
      List<CatalogDiff.Dropped> dropped = new ArrayList<>();
      // The contract migrations come last and are rehearsed last, on the schema the others left, as they will run.
      List<String> contractEffects = new ArrayList<>();
      List<CatalogDiff.Dropped> contractDropped = new ArrayList<>();
      List<PendingMigration> skipped = new ArrayList<>();
      CatalogSnapshot before = CatalogSnapshot.readRelations(connection);
      CatalogSnapshot baselineCatalog = before;
      for (PendingMigration m : plan.pending()) {
        // Past a migration that cannot run in a transaction, later ones may depend on what it built:
        // rehearsing them without it would fail for nothing, so they are not rehearsed either.
        if (!skipped.isEmpty() || !m.transactional()) {
          skipped.add(m);
          continue;
        }
        if (m.unmarkedTransactionControl() != null) {
          // Pre-flight refuses such a script before the rehearsal; never execute what could commit.
          return Rehearsed.failed("rehearsal: migration " + m.label() + " has " + m.unmarkedTransactionControl().describe()
              + " and was not run", m, skipped, java.util.Set.of());
        }
        try {
          ScriptRunner.run(connection, m);
        } catch (SQLException e) {
          if (INVALID_TRANSACTION_TERMINATION.equals(e.getSQLState())) {
            String why = "rehearsal: migration " + m.label() + " tried to end the release's transaction (" + e.getMessage()
                + "): a procedure it calls, or a DO block, commits, so it cannot run inside the release's transaction";
            return Rehearsed.failed(why, m, skipped, java.util.Set.of()).blockedBy(new Finding(FlywayFindings.CONTROL,
                Severity.BLOCK, FlywayFindings.name(m), why + "; nothing was changed. " + capitalized(m.howToMark()),
                List.of()));
          }
          if ("55P03".equals(e.getSQLState())) {
            // PostgreSQL does not say whose lock it waited for; the tables the migration names are the suspects.
            return Rehearsed.failed("rehearsal: migration " + m.label() + " could not get its lock within lock_timeout "
                + lockTimeout.toMillis() + " ms: another session holds a lock on a table it changes (see blocking-sessions)",
                m, skipped, tablesNamedIn(m.sql(), baselineCatalog));
          }
          return Rehearsed.failed("rehearsal: migration " + m.label() + " would fail: " + e.getMessage()
              + (e.getSQLState() == null ? "" : " (SQL state " + e.getSQLState() + ")"), m, skipped, java.util.Set.of());
        } finally {
          requireSameTransaction(connection, transaction, m);
        }
        CatalogSnapshot after = CatalogSnapshot.readRelations(connection);
        CatalogDiff diff = CatalogDiff.between(before, after);
        diff.breaking().forEach(b -> (m.contract() ? contractEffects : effects).add(m.label() + " " + b));
        (m.contract() ? contractDropped : dropped).addAll(diff.dropped());
        before = after;
      }
      java.util.Set<String> locked = lockedTables(connection, baselineCatalog);
      connection.rollback(baseline);
      List<DataLoss> loss = DataLoss.count(connection, baselineCatalog, dropped);
      List<DataLoss> contractLoss = DataLoss.count(connection, baselineCatalog, contractDropped);
      return new Rehearsed(null, effects, loss, skipped, locked, null, null, List.of(), contractEffects, contractLoss);
    } finally {
      connection.rollback(start);
      connection.rollback();
    }
  }

  private static java.util.Set<String> tablesNamedIn(String sql, CatalogSnapshot shape) {
    java.util.Set<String> names = SqlScript.names(sql);
    java.util.Set<String> tables = new java.util.TreeSet<>();
    for (Relation r : CatalogDiff.relations(shape).values()) {
      String name = r.name().name();
      if (names.contains(name) || names.contains(name.toLowerCase(java.util.Locale.ROOT))) {
        tables.add(r.name().toString());
      }
    }
    return tables;
  }

  private static long currentTransaction(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT txid_current()")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * The rehearsal must never commit. Statements that could are refused before they run; this checks
   * the outcome too, so a way to commit that the classifier missed fails loudly instead of silently.
   */
  private static void requireSameTransaction(Connection c, long transaction, PendingMigration m) throws SQLException {
    long now;
    try {
      now = currentTransaction(c);
    } catch (SQLException e) {
      if ("25P02".equals(e.getSQLState())) {
        return; // the transaction is aborted by the failed statement: still ours, and it will be rolled back
      }
      throw e;
    }
    if (now != transaction) {
      throw new IllegalStateException("the rehearsal's transaction " + transaction + " ended while rehearsing migration "
          + m.label() + " (now " + now + "): something in it committed although nothing that can commit should run here;"
          + " this is a bug in Lockstep's statement classifier, please report it with the migration");
    }
  }

  /** The existing tables this transaction holds a lock on that conflicts with other sessions' writes (or reads). */
  private static java.util.Set<String> lockedTables(Connection c, CatalogSnapshot baseline) throws SQLException {
    java.util.Map<Long, Relation> relations = CatalogDiff.relations(baseline);
    java.util.Set<String> tables = new java.util.TreeSet<>();
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

  private static String capitalized(String text) {
    return text.isEmpty() ? text : Character.toUpperCase(text.charAt(0)) + text.substring(1);
  }
}
