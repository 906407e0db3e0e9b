package dev.lockstep.agent;

/**
 * A coordinator call that did not succeed. {@link Kind#UNREACHABLE} means "try another coordinator";
 * {@link Kind#REJECTED} means a coordinator answered and refused (wrong token, bad request), which another
 * instance would most likely refuse too.
 */
public final class CoordinatorException extends RuntimeException {

  /** Why the call failed, which decides what the agent does next. */
  public enum Kind {
    /** No answer, a dropped connection, a timeout or a 5xx: move on to the next coordinator. */
    UNREACHABLE,
    /** A 4xx (or other non-2xx) answer, or a body that is not what the protocol says. */
    REJECTED
  }

  private final Kind kind;

  public CoordinatorException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
