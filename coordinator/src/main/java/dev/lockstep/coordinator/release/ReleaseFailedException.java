package dev.lockstep.coordinator.release;

/**
 * Ends a release FAILED. {@code schemaChanged} says whether anything of it committed; if not,
 * agents are told to abort and stay on their old revision, which still matches the schema.
 */
public final class ReleaseFailedException extends RuntimeException {
  private final boolean schemaChanged;

  public ReleaseFailedException(String reason, boolean schemaChanged, Throwable cause) {
    super(reason, cause);
    this.schemaChanged = schemaChanged;
  }

  public boolean schemaChanged() {
    return schemaChanged;
  }
}
