package dev.lockstep.coordinator.migration;

/** A migration that a release would apply: its version, description, script name and SQL text. */
public record PendingMigration(String version, String description, String script, String sql) {
  /** {@code V3 (add order fk)} — how messages name a migration. */
  public String label() {
    return "V" + version + " (" + description + ")";
  }
}
