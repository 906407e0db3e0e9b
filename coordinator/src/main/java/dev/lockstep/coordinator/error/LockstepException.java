package dev.lockstep.coordinator.error;

/**
 * The one error type of the coordinator. Its {@link Code} decides the HTTP status once, in the
 * failure handler; its message names the object and says how to fix the problem.
 *
 * <pre>{@code throw new LockstepException(Code.CONFLICT, "release r-12 is MIGRATING; it can no longer be aborted");}</pre>
 */
public class LockstepException extends RuntimeException {

  /** What kind of failure this is; each maps to one HTTP status. */
  public enum Code {
    BAD_REQUEST(400, "bad_request"),
    UNAUTHORIZED(401, "unauthorized"),
    FORBIDDEN(403, "forbidden"),
    NOT_FOUND(404, "not_found"),
    CONFLICT(409, "conflict"),
    PRUNED(410, "pruned"),
    TOO_LARGE(413, "too_large"),
    UNPROCESSABLE(422, "unprocessable"),
    /** A caller went past one of the API's limits (failed authentications, open streams, long polls); the detail names it. */
    TOO_MANY_REQUESTS(429, "too_many_requests"),
    /** Another coordinator took the service over, or the release moved on: the run must write nothing more. */
    FENCED(409, "fenced"),
    /** A release stops before any schema change committed (operator abort, pre-flight block, an agent refused). */
    ABORTED(409, "aborted"),
    /** A release ends FAILED: a migration, repair or switch went wrong; the run's ending says what the fleet is told. */
    FAILED(409, "failed"),
    /** A migration or undo script failed and its transaction was rolled back; {@link #sqlState()} says why. */
    MIGRATION_FAILED(422, "migration_failed"),
    /** The coordinator is shutting down: the run stops at a safe point and hands the release over. */
    STOPPING(503, "stopping"),
    UNAVAILABLE(503, "unavailable"),
    INTERNAL(500, "internal");

    private final int status;
    private final String wire;

    Code(int status, String wire) {
      this.status = status;
      this.wire = wire;
    }

    public int status() {
      return status;
    }

    public String wire() {
      return wire;
    }
  }

  private final Code code;
  private final java.time.Duration retryAfter;

  public LockstepException(Code code, String message) {
    super(message);
    this.code = code;
    this.retryAfter = null;
  }

  private LockstepException(Code code, String message, java.time.Duration retryAfter) {
    super(message);
    this.code = code;
    this.retryAfter = retryAfter;
  }

  public LockstepException(Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.retryAfter = null;
  }

  /** A 429 whose {@code Retry-After} header says when the caller may try again. */
  public static LockstepException tooManyRequests(String message, java.time.Duration retryAfter) {
    return new LockstepException(Code.TOO_MANY_REQUESTS, message, retryAfter);
  }

  /** How long the caller should wait before trying again (the {@code Retry-After} header); null if it does not apply. */
  public java.time.Duration retryAfter() {
    return retryAfter;
  }

  public Code code() {
    return code;
  }

  public boolean is(Code expected) {
    return code == expected;
  }

  /** Whether {@code e} is a LockstepException of {@code code}. */
  public static boolean is(Throwable e, Code code) {
    return e instanceof LockstepException l && l.code == code;
  }

  /** The SQL state of the first {@link java.sql.SQLException} among the causes, e.g. {@code 55P03}; null if none. */
  public String sqlState() {
    for (Throwable t = getCause(); t != null; t = t.getCause()) {
      if (t instanceof java.sql.SQLException sql && sql.getSQLState() != null) {
        return sql.getSQLState();
      }
    }
    return null;
  }

  /** A migration that could not get its lock within {@code lock_timeout}: rolled back, worth trying again. */
  public boolean lockTimeout() {
    return code == Code.MIGRATION_FAILED && "55P03".equals(sqlState());
  }

  public static LockstepException fenced(String service, long mine, long current) {
    return new LockstepException(Code.FENCED, "coordinator fenced out of service " + service + ": it runs epoch " + mine
        + " but the database is at epoch " + current + "; another coordinator took over");
  }

  public static LockstepException aborted(String reason) {
    return new LockstepException(Code.ABORTED, reason);
  }

  public static LockstepException failed(String reason, Throwable cause) {
    return new LockstepException(Code.FAILED, reason, cause);
  }

  public static LockstepException badRequest(String message) {
    return new LockstepException(Code.BAD_REQUEST, message);
  }

  public static LockstepException notFound(String message) {
    return new LockstepException(Code.NOT_FOUND, message);
  }

  public static LockstepException conflict(String message) {
    return new LockstepException(Code.CONFLICT, message);
  }
}
