package dev.lockstep.coordinator.migration;

import java.util.List;

/**
 * What a release to {@code target} would do, computed from Flyway's view of the folder and the
 * database.
 *
 * @param current the schema version the database is at, or null if none applied
 * @param target the version the release moves to
 * @param pending the migrations it would apply, oldest first
 */
public record MigrationPlan(String current, String target, List<PendingMigration> pending) {
  public MigrationPlan {
    pending = List.copyOf(pending);
  }

  public List<String> pendingLabels() {
    return pending.stream().map(PendingMigration::label).toList();
  }
}
