package dev.lockstep.coordinator.migration;

/**
 * A migration that a release would run: its version, description, script name and SQL text. An
 * {@code undo} migration is a {@code U<version>__…} script that takes the schema from that version
 * back to the one before it.
 */
public record PendingMigration(String version, String description, String script, String sql, boolean undo) {

  public PendingMigration(String version, String description, String script, String sql) {
    this(version, description, script, sql, false);
  }

  /** {@code V3 (add order fk)}, or {@code U3 (add order fk)} for its undo — how messages name a migration. */
  public String label() {
    return (undo ? "U" : "V") + version + " (" + description + ")";
  }
}
