package dev.lockstep.coordinator;

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
    FENCED(409, "fenced"),
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

  public LockstepException(Code code, String message) {
    super(message);
    this.code = code;
  }

  public LockstepException(Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public Code code() {
    return code;
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
