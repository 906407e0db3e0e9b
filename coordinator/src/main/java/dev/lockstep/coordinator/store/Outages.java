package dev.lockstep.coordinator.store;

import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;

/**
 * Tells a store that is out of reach from a request that is wrong: a lost PostgreSQL connection (a
 * restart, {@code pg_terminate_backend}, a network cut) or an unreachable Redis. Those are retried
 * or answered 503; everything else is the caller's problem or a bug.
 *
 * <p>PostgreSQL is reached two ways, and both count: the Vert.x pool ({@code PgException},
 * {@code ClosedConnectionException}) and JDBC, which Flyway and the fenced runs use
 * ({@code SQLException}, often wrapped in a {@code FlywayException}; the cause chain is walked, and
 * so is JDBC's next-exception chain). By SQL state: class 08 (connection exception) and 57P
 * (operator intervention: admin or crash shutdown, cannot connect now, database dropped) are
 * outages; 57014 (a statement timeout or cancel) is not, it is the statement's own failure.
 *
 * <pre>{@code if (Outages.isPostgresConnectionLoss(e)) { retry(); }}</pre>
 */
public final class Outages {
  private Outages() {}

  /** "PostgreSQL", "Redis", or null if {@code failure} is not an outage of either. */
  public static String storeOf(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof org.redisson.client.RedisException) {
        return "Redis";
      }
    }
    return isPostgresConnectionLoss(failure) ? "PostgreSQL" : null;
  }

  public static boolean isPostgresConnectionLoss(Throwable failure) {
    return lost(failure, 0);
  }

  // Depth-bounded: cause and next-exception chains are acyclic in practice, but a bug elsewhere must not hang us here.
  private static boolean lost(Throwable failure, int depth) {
    for (Throwable t = failure; t != null && depth < 32; t = t.getCause(), depth++) {
      if (t instanceof io.vertx.sqlclient.ClosedConnectionException || t instanceof java.net.ConnectException
          || t instanceof SQLTransientConnectionException || t instanceof SQLNonTransientConnectionException
          || (t instanceof io.vertx.pgclient.PgException pg && isOutageState(pg.getSqlState()))
          || (t instanceof SQLException sql && isOutageState(sql.getSQLState()))) {
        return true;
      }
      if (t instanceof SQLException sql && sql.getNextException() != null && lost(sql.getNextException(), depth + 1)) {
        return true;
      }
    }
    return false;
  }

  private static boolean isOutageState(String state) {
    return state != null && (state.startsWith("08") || state.startsWith("57P"));
  }
}
