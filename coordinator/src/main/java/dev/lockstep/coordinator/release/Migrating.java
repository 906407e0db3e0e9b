package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;

/**
 * MIGRATING: repairs, then the migrations — one fenced transaction, or steps when a migration cannot
 * run in one. Both are planned again from the live database, so a resumed run applies only what is
 * still pending (Flyway's history says what committed). Each committed step is stored before the
 * next begins ({@link StepRunner}). The contract migrations are not applied here: they wait for CONTRACTING. Then
 * SWITCHING, told to the fleet in the transaction that enters it.
 */
public final class Migrating implements PhaseStep {
  private final MigrationEngine migrations;
  private final RepairStep repairs;
  private final StepRunner steps;
  private final WorkerExecutor worker;

  public Migrating(MigrationEngine migrations, RepairStep repairs, StepRunner steps, WorkerExecutor worker) {
    this.migrations = migrations;
    this.repairs = repairs;
    this.steps = steps;
    this.worker = worker;
  }

  @Override
  public Future<ReleaseDocument> run(ReleaseDocument stored, Attempt attempt) {
    ReleaseJournal journal = attempt.journal();
    return worker.executeBlocking(() -> repairs.apply(stored.service(), stored.id(), attempt.epoch(),
            Releases.orNone(stored.fromSchema())), true)
        .compose(applied -> applied.isEmpty() ? Future.succeededFuture(stored)
            : journal.write(stored.toBuilder().repairs(applied).build(), "MIGRATING: repaired: " + String.join("; ", applied)))
        .compose(repaired -> worker.executeBlocking(() -> migrations.plan(attempt.set(), repaired.schema()), true))
        .compose(plan -> plan.steps().isEmpty()
            ? journal.write(journal.stored(), "MIGRATING: nothing to apply" + (plan.contract().isEmpty()
                ? " (already at " + journal.stored().schema() + ")" : " before the switch"))
            : steps.apply(plan.steps(), attempt, "MIGRATING"))
        .compose(migrated -> journal.tell(migrated.toBuilder().phase(Phase.SWITCHING).build(),
            "SWITCHING: telling " + migrated.agents().size() + " agent(s) to switch to revision " + migrated.revision(), false));
  }
}
