package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.error.LockstepException;
import java.util.List;

/**
 * What a release to {@code target} would do, computed by the engine from the set and the database. Its contract
 * migrations ({@link PendingMigration#contract}) come last and run in CONTRACTING, after the switch; the others are
 * the {@link #steps} of MIGRATING.
 *
 * @param current the schema version the database is at, or null if none applied
 * @param target the version the release moves to (its contract migrations included)
 * @param pending the migrations it would apply, oldest first
 */
public record MigrationPlan(String current, String target, List<PendingMigration> pending) {
  public MigrationPlan {
    pending = List.copyOf(pending);
  }

  /**
   * An upgrade, its contract migrations checked: on a database with nothing applied yet there is no old code to wait
   * for, so they run with the others; otherwise they must come after every other migration of the release (a release
   * runs its migrations in order, and the removals only after the switch) and run in a transaction (the contract is
   * one), else 422 naming the files.
   *
   * @param pending in the order they apply
   */
  public static MigrationPlan upgrade(String current, String target, List<PendingMigration> pending) {
    if (current == null) {
      return new MigrationPlan(null, target, pending.stream().map(PendingMigration::expanding).toList());
    }
    PendingMigration firstContract = null;
    for (PendingMigration m : pending) {
      if (m.contract()) {
        if (!m.transactional()) {
          throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "contract migration " + m.script() + " ("
              + m.label() + ") cannot run in a transaction"
              + (m.statements().nonTransactional().isEmpty() ? "" : " (" + m.statements().nonTransactional().get(0).describe() + ")")
              + ", but a release's contract migrations run together in one transaction after the switch, so that a failure"
              + " leaves the schema as it was; make it transactional (DROP INDEX without CONCURRENTLY), or move it out of"
              + " the contract");
        }
        firstContract = firstContract == null ? m : firstContract;
      } else if (firstContract != null) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "contract migration " + firstContract.script()
            + " (" + firstContract.label() + ") comes before " + m.script() + " (" + m.label() + "), which is not a"
            + " contract migration: a release's contract migrations run after the switch, so they must come after all its"
            + " other migrations; renumber the contract migration above " + m.label() + ", or release in two steps (first"
            + " to the schema of " + firstContract.label() + ", then the rest)");
      }
    }
    return new MigrationPlan(current, target, pending);
  }

  /** The contract migrations, oldest first: what CONTRACTING applies, in one transaction. */
  public List<PendingMigration> contract() {
    return pending.stream().filter(PendingMigration::contract).toList();
  }

  /** The migrations MIGRATING applies: every pending one but the contract's. */
  public List<PendingMigration> expand() {
    return pending.stream().filter(m -> !m.contract()).toList();
  }

  /** CONTRACTING's one step, or none without contract migrations. */
  public java.util.Optional<Step> contractStep() {
    List<PendingMigration> contract = contract();
    return contract.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(new Step(contract, true));
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

  /**
   * MIGRATING's migrations ({@link #expand}) cut into steps; one step when the release is atomic. The contract
   * migrations are not among them: {@link #contractStep}.
   */
  public List<Step> steps() {
    List<Step> steps = new java.util.ArrayList<>();
    List<PendingMigration> run = new java.util.ArrayList<>();
    for (PendingMigration m : expand()) {
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
