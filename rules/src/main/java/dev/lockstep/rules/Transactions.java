package dev.lockstep.rules;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;

/**
 * The two transaction shapes inspection needs, on a connection someone else owns: a consistent
 * read-only view when the caller gave us an autocommit connection, and a savepoint around a piece of
 * work inside the caller's transaction, so that one failing statement does not abort the rest.
 */
final class Transactions {
  private Transactions() {}

  /** Work that talks to the database. */
  @FunctionalInterface
  interface SqlWork<T> {
    T run() throws SQLException;
  }

  /** Cleanup that may fail; its failure must not hide the error that caused it. */
  @FunctionalInterface
  private interface SqlCleanup {
    void run() throws SQLException;
  }

  /**
   * Runs {@code work} in a {@code REPEATABLE READ READ ONLY} transaction if the connection is in
   * autocommit, restoring autocommit, isolation and read-only afterwards; inside the caller's
   * transaction if there is one, because that is the state the caller wants to see (for example
   * during a rehearsal, after repairs it has not committed).
   */
  static <T> T readConsistently(Connection connection, SqlWork<T> work) throws SQLException {
    if (!connection.getAutoCommit()) {
      return work.run();
    }
    int isolation = connection.getTransactionIsolation();
    boolean readOnly = connection.isReadOnly();
    SqlCleanup restore = () -> {
      connection.setReadOnly(readOnly);
      connection.setTransactionIsolation(isolation);
      connection.setAutoCommit(true);
    };
    T result;
    try {
      connection.setAutoCommit(false);
      connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
      connection.setReadOnly(true);
      result = work.run();
      connection.commit();
    } catch (SQLException | RuntimeException | Error e) {
      cleanUp(e, connection::rollback, restore);
      throw e;
    }
    restore.run();
    return result;
  }

  /**
   * Runs {@code work} and then undoes whatever it changed. Inside a transaction it runs in a savepoint
   * that is rolled back, so an error leaves the transaction usable and inspection changes nothing; in
   * autocommit every statement is its own transaction already, so it simply runs.
   */
  static <T> T undone(Connection connection, SqlWork<T> work) throws SQLException {
    if (connection.getAutoCommit()) {
      return work.run();
    }
    Savepoint savepoint = connection.setSavepoint();
    SqlCleanup rollBack = () -> {
      connection.rollback(savepoint);
      connection.releaseSavepoint(savepoint);
    };
    T result;
    try {
      result = work.run();
    } catch (SQLException | RuntimeException | Error e) {
      cleanUp(e, rollBack);
      throw e;
    }
    rollBack.run();
    return result;
  }

  private static void cleanUp(Throwable cause, SqlCleanup... steps) {
    for (SqlCleanup step : steps) {
      try {
        step.run();
      } catch (SQLException | RuntimeException e) {
        cause.addSuppressed(e);
      }
    }
  }
}
