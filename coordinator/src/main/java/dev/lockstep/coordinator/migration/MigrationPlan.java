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

  /**
   * A run of migrations applied together: consecutive transactional migrations share one
   * transaction; a migration that cannot run in a transaction is a step of its own.
   */
  public record Step(List<PendingMigration> migrations, boolean transactional) {
    public String target() {
      return migrations.get(migrations.size() - 1).version();
    }

    /** An undo step: one U… script and its history bookkeeping, in a transaction of its own. */
    public boolean undo() {
      return migrations.get(0).undo();
    }
  }

  /** Whether this plan takes the schema down: undo scripts, newest first. */
  public boolean downgrade() {
    return !pending.isEmpty() && pending.get(0).undo();
  }

  /** The pending migrations cut into steps; one step when the release is atomic. */
  public List<Step> steps() {
    List<Step> steps = new java.util.ArrayList<>();
    List<PendingMigration> run = new java.util.ArrayList<>();
    for (PendingMigration m : pending) {
      if (m.undo()) {
        // Each undo commits with its own history change, so a failure leaves a version that exists.
        steps.add(new Step(List.of(m), m.transactional()));
      } else if (!m.transactional()) {
        if (!run.isEmpty()) {
          steps.add(new Step(List.copyOf(run), true));
          run.clear();
        }
        steps.add(new Step(List.of(m), false));
      } else {
        run.add(m);
      }
    }
    if (!run.isEmpty()) {
      steps.add(new Step(List.copyOf(run), true));
    }
    return steps;
  }
}
