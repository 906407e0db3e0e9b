package dev.lockstep.protocol;

/**
 * A migration a release applied (or undid): version, description, script, execution time, and the
 * coordinator instance ({@code host/pid}) whose run applied it; null in documents written before it was recorded.
 */
public record AppliedMigration(String version, String description, String script, long executionMs, String coordinator) {

  public AppliedMigration(String version, String description, String script, long executionMs) {
    this(version, description, script, executionMs, null);
  }

  public AppliedMigration by(String instance) {
    return new AppliedMigration(version, description, script, executionMs, instance);
  }
}
