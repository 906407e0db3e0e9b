package dev.lockstep.coordinator.store;

/**
 * Tells a store that is out of reach from a request that is wrong: a lost PostgreSQL connection (a
 * restart, {@code pg_terminate_backend}, a network cut) or an unreachable Redis. Those are retried
 * or answered 503; everything else is the caller's problem or a bug.
 */
public final class Outages {
  private Outages() {}

  /** "PostgreSQL", "Redis", or null if {@code failure} is not an outage of either. */
  public static String storeOf(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof org.redisson.client.RedisException) {
        return "Redis";
      }
      if (isPostgresConnectionLoss(t)) {
        return "PostgreSQL";
      }
    }
    return null;
  }

  public static boolean isPostgresConnectionLoss(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof io.vertx.sqlclient.ClosedConnectionException || t instanceof java.net.ConnectException
          || (t instanceof io.vertx.pgclient.PgException pg && pg.getSqlState() != null
              && (pg.getSqlState().startsWith("08") || pg.getSqlState().startsWith("57P")))) {
        return true;
      }
    }
    return false;
  }
}
