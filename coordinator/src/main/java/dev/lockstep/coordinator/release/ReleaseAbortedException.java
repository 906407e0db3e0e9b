package dev.lockstep.coordinator.release;

/** Ends a release ABORTED: it stopped before any schema change committed. The message is the reason. */
public final class ReleaseAbortedException extends RuntimeException {
  public ReleaseAbortedException(String reason) {
    super(reason);
  }
}
