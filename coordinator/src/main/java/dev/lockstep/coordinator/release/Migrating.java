package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * MIGRATING: repairs, then the migrations — one fenced transaction, or steps when a migration cannot
 * run in one. Both are planned again from the live database, so a resumed run applies only what is
 * still pending (Flyway's history says what committed). Each committed step is stored before the
 * next begins. Then SWITCHING, told to the fleet in the transaction that enters it.
 */
public final class Migrating implements PhaseStep {
  /** A migration that cannot get its lock is rolled back and tried again, this many times in all. */
  private static final int LOCK_ATTEMPTS = 3;

  private final Vertx vertx;
  private final MigrationEngine migrations;
  private final RepairStep repairs;
  private final WorkerExecutor worker;
  private final Duration lockTimeout;
  private final Duration retryWait;
  private final String instanceId;

  /** @param instanceId this coordinator ({@code host/pid}), recorded with each migration it applies */
  public Migrating(Vertx vertx, MigrationEngine migrations, RepairStep repairs, WorkerExecutor worker, Duration lockTimeout,
                   Duration retryWait, String instanceId) {
    this.instanceId = instanceId;
    this.vertx = vertx;
    this.migrations = migrations;
    this.repairs = repairs;
    this.worker = worker;
    this.lockTimeout = lockTimeout;
    this.retryWait = retryWait;
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
            ? journal.write(journal.stored(), "MIGRATING: nothing to apply (already at " + journal.stored().schema() + ")")
            : applySteps(plan.steps(), 0, 1, attempt))
        .compose(migrated -> journal.tell(migrated.toBuilder().phase(Phase.SWITCHING).build(),
            "SWITCHING: telling " + migrated.agents().size() + " agent(s) to switch to revision " + migrated.revision(), false));
  }

  private Future<ReleaseDocument> applySteps(List<MigrationPlan.Step> steps, int index, int attempt, Attempt run) {
    ReleaseJournal journal = run.journal();
    if (index == steps.size()) {
      return Future.succeededFuture(journal.stored());
    }
    if (index > 0) {
      // Between committed steps is a safe point: the next coordinator plans again from Flyway's history.
      run.checkStopping("between migration steps");
    }
    MigrationPlan.Step step = steps.get(index);
    String labels = step.migrations().stream().map(m -> m.label()).collect(Collectors.joining(", "));
    Future<ReleaseDocument> announced = steps.size() == 1 ? Future.succeededFuture(journal.stored())
        : journal.write(journal.stored(), "MIGRATING: step " + (index + 1) + "/" + steps.size()
            + (step.transactional() ? " in one transaction: " : " outside a transaction: ") + labels);
    // The engine's progress lines (Alembic's "Running upgrade a -> b") become release events, written one after
    // the other on this context, and all of them before the step's result: a later write never stores an older
    // document over the step's.
    io.vertx.core.Context context = vertx.getOrCreateContext();
    Future<?>[] events = {Future.succeededFuture()};
    java.util.function.Consumer<String> output = line -> context.runOnContext(v ->
        events[0] = events[0].transform(x -> journal.write(journal.stored(), "MIGRATING: " + line)));
    return announced
        .compose(v -> worker.executeBlocking(() -> migrations.migrate(run.set(), step, run.epoch(), output), true))
        .transform(done -> {
          Promise<List<AppliedMigration>> settled = Promise.promise();
          // Queued behind any progress events still in flight (runOnContext keeps their order).
          context.runOnContext(v -> events[0].transform(x -> done.succeeded() ? Future.succeededFuture(done.result())
              : Future.<List<AppliedMigration>>failedFuture(done.cause())).onComplete(settled));
          return settled.future();
        })
        .compose(applied -> {
          List<AppliedMigration> all = new ArrayList<>(journal.stored().applied());
          applied.forEach(a -> all.add(a.by(instanceId)));
          return journal.write(journal.stored().toBuilder().applied(all).build(), "MIGRATING: applied " + applied.stream()
              .map(a -> (a.script() != null && a.script().endsWith(".py") ? "" : "V") + a.version() + " (" + a.description()
                  + ", " + a.executionMs() + " ms)")
              .collect(Collectors.joining(", ")));
        })
        .compose(v -> applySteps(steps, index + 1, 1, run), e -> {
          if (e instanceof LockstepException failed && failed.lockTimeout() && step.transactional() && attempt < LOCK_ATTEMPTS) {
            long backoff = retryWait.toMillis() << (attempt - 1);
            return journal.write(journal.stored(), "MIGRATING: " + labels + " could not get its lock within lock_timeout "
                    + Durations.format(lockTimeout) + " (a long transaction holds the table); rolled back, retry "
                    + (attempt + 1) + "/" + LOCK_ATTEMPTS + " in " + Durations.format(Duration.ofMillis(backoff)))
                .compose(v -> vertx.timer(backoff))
                .compose(v -> applySteps(steps, index, attempt + 1, run));
          }
          return Future.failedFuture(e);
        });
  }
}
