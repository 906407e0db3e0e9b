package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.protocol.Durations;
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
 * Applies migration steps for a phase (MIGRATING's steps, CONTRACTING's one): each fenced by the run's epoch, each
 * stored once it committed before the next begins, the engine's progress lines as events, and a step that cannot get
 * its lock within {@code lock_timeout} rolled back and tried again (three times in all, the wait doubling).
 *
 * <pre>{@code steps.apply(plan.steps(), attempt, "MIGRATING").onSuccess(migrated -> …)}</pre>
 */
public final class StepRunner {
  /** A migration that cannot get its lock is rolled back and tried again, this many times in all. */
  private static final int LOCK_ATTEMPTS = 3;

  private final Vertx vertx;
  private final MigrationEngine migrations;
  private final WorkerExecutor worker;
  private final Duration lockTimeout;
  private final Duration retryWait;
  private final String instanceId;

  /** @param instanceId this coordinator ({@code host/pid}), recorded with each migration it applies */
  public StepRunner(Vertx vertx, MigrationEngine migrations, WorkerExecutor worker, Duration lockTimeout,
                    Duration retryWait, String instanceId) {
    this.vertx = vertx;
    this.migrations = migrations;
    this.worker = worker;
    this.lockTimeout = lockTimeout;
    this.retryWait = retryWait;
    this.instanceId = instanceId;
  }

  /**
   * Applies {@code steps} in order; completes with the release as stored after the last one. The engine's
   * {@link MigrationEngine.Steps} lives as long as the phase's steps do, and is closed whatever the outcome: on a
   * worker, without the release waiting for it (Alembic's driver has committed or rolled back its last command by
   * then; what is left is its Python's exit).
   */
  Future<ReleaseDocument> apply(List<MigrationPlan.Step> steps, Attempt run, String phase) {
    MigrationEngine.Steps session = migrations.steps(run.set(), run.epoch());
    return apply(steps, 0, 1, run, phase, session)
        .onComplete(done -> worker.executeBlocking(() -> {
          session.close();
          return null;
        }, false));
  }

  private Future<ReleaseDocument> apply(List<MigrationPlan.Step> steps, int index, int attempt, Attempt run, String phase,
                                        MigrationEngine.Steps session) {
    ReleaseJournal journal = run.journal();
    if (index == steps.size()) {
      return Future.succeededFuture(journal.stored());
    }
    if (index > 0) {
      // Between committed steps is a safe point: the next coordinator plans again from the tool's history.
      run.checkStopping("between migration steps");
    }
    MigrationPlan.Step step = steps.get(index);
    String labels = step.migrations().stream().map(m -> m.label()).collect(Collectors.joining(", "));
    Future<ReleaseDocument> announced = steps.size() == 1 ? Future.succeededFuture(journal.stored())
        : journal.write(journal.stored(), phase + ": step " + (index + 1) + "/" + steps.size()
            + (step.transactional() ? " in one transaction: " : " outside a transaction: ") + labels);
    // The engine's progress lines (Alembic's "Running upgrade a -> b") become release events, written one after
    // the other on this context, and all of them before the step's result: a later write never stores an older
    // document over the step's.
    io.vertx.core.Context context = vertx.getOrCreateContext();
    Future<?>[] events = {Future.succeededFuture()};
    java.util.function.Consumer<String> output = line -> context.runOnContext(v ->
        events[0] = events[0].transform(x -> journal.write(journal.stored(), phase + ": " + line)));
    return announced
        .compose(v -> worker.executeBlocking(() -> session.apply(step, output), true))
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
          return journal.write(journal.stored().toBuilder().applied(all).build(), phase + ": applied " + applied.stream()
              .map(a -> (a.script() != null && a.script().endsWith(".py") ? "" : "V") + a.version() + " (" + a.description()
                  + ", " + a.executionMs() + " ms)")
              .collect(Collectors.joining(", ")));
        })
        .compose(v -> apply(steps, index + 1, 1, run, phase, session), e -> {
          if (e instanceof LockstepException failed && failed.lockTimeout() && step.transactional() && attempt < LOCK_ATTEMPTS) {
            long backoff = retryWait.toMillis() << (attempt - 1);
            return journal.write(journal.stored(), phase + ": " + labels + " could not get its lock within lock_timeout "
                    + Durations.format(lockTimeout) + " (a long transaction holds the table); rolled back, retry "
                    + (attempt + 1) + "/" + LOCK_ATTEMPTS + " in " + Durations.format(Duration.ofMillis(backoff)))
                .compose(v -> vertx.timer(backoff))
                .compose(v -> apply(steps, index, attempt + 1, run, phase, session));
          }
          return Future.failedFuture(e);
        });
  }
}
