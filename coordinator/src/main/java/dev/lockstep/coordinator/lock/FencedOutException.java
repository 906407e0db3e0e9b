package dev.lockstep.coordinator.lock;

/**
 * Thrown when PostgreSQL shows that another coordinator took the service over: the epoch in
 * {@code lockstep.fence} is no longer ours. The run must stop at once and write nothing more.
 */
public final class FencedOutException extends RuntimeException {
  public FencedOutException(String service, long mine, long current) {
    super("coordinator fenced out of service " + service + ": it runs epoch " + mine
        + " but the database is at epoch " + current + "; another coordinator took over");
  }
}
