package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.rules.SqlScript;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Runs a migration script statement by statement on a connection someone else manages, the way
 * {@code psql} would run the file: a transactional script without its outer {@code BEGIN; … COMMIT;}
 * wrapper (it runs inside the caller's transaction), a script marked non-transactional exactly as
 * written. A failure names the line and the statement, so "migration V3 failed" says where.
 *
 * <pre>{@code ScriptRunner.run(connection, migration);   // inside Flyway's group transaction, or a rehearsal}</pre>
 */
public final class ScriptRunner {
  private ScriptRunner() {}

  /** The statements {@link #run} executes for {@code migration}. */
  public static List<SqlScript.Statement> statementsToRun(PendingMigration migration) {
    SqlScript script = migration.statements();
    return migration.executeInTransaction() ? script.body() : script.statements();
  }

  /**
   * Executes {@code migration} on {@code connection}.
   *
   * @throws SQLException the database's error, its message prefixed with the line and statement
   *     keyword, its SQL state kept
   */
  public static void run(Connection connection, PendingMigration migration) throws SQLException {
    run(connection, statementsToRun(migration));
  }

  static void run(Connection connection, List<SqlScript.Statement> statements) throws SQLException {
    try (Statement jdbc = connection.createStatement()) {
      jdbc.setEscapeProcessing(false); // the file is PostgreSQL's SQL, not JDBC's: no {fn …} rewriting
      for (SqlScript.Statement statement : statements) {
        try {
          jdbc.execute(statement.sql());
        } catch (SQLException e) {
          throw new SQLException("at " + statement.describe() + ": " + e.getMessage(), e.getSQLState(), e);
        }
      }
    }
  }
}
