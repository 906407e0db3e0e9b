package dev.lockstep.coordinator.release;

import java.util.List;
import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.protocol.BackupResult;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.ReleaseRole;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.time.Duration;

/**
 * PREPARING: every in-place and new participant stages the new code and acknowledges with the digest of the migrations
 * it staged (new instances that appear meanwhile join, and at least {@code minReady} of them must); in maintenance mode
 * the retiring instances stop taking traffic; then the backup command, if there is one. Then MIGRATING, in one statement that also checks no abort was asked for, so an abort
 * either lands before the schema is touched or is refused.
 */
public final class Preparing implements PhaseStep {
  private final FleetWait fleet;
  private final Duration timeout;
  private final Backup backup;
  private final WorkerExecutor worker;

  public Preparing(FleetWait fleet, Duration timeout, Backup backup, WorkerExecutor worker) {
    this.fleet = fleet;
    this.timeout = timeout;
    this.backup = backup;
    this.worker = worker;
  }

  @Override
  public Future<ReleaseDocument> run(ReleaseDocument stored, Attempt attempt) {
    FleetCheck.PrepareGoal judged = FleetCheck.PrepareGoal.of(stored, attempt.digest());
    boolean maintenance = stored.mode() == Mode.MAINTENANCE;
    FleetWait.Goal goal = new FleetWait.Goal(Phase.PREPARING, timeout,
        (participants, reports, departed) -> FleetCheck.prepare(judged, participants, reports, departed),
        a -> a.role() == ReleaseRole.RETIRING
            ? (a.state() == AgentState.RETIRED ? a.id() + " retired (old code stopped)" : null)
            : a.state() == AgentState.PREPARED ? a.id() + " prepared (digest " + MigrationsDigest.shortForm(a.digest()) + ")" : null,
        a -> maintenance || a.role() != ReleaseRole.RETIRING,
        LockstepException::aborted);
    return fleet.await(goal, attempt).compose(ready -> backedUp(ready, attempt)).compose(prepared -> {
      attempt.checkStopping("before MIGRATING");
      return attempt.journal().enterMigrating(prepared.toBuilder().phase(Phase.MIGRATING).build(),
              migratingEvent(prepared))
          .compose(entered -> entered ? Future.succeededFuture(attempt.journal().stored())
              : Future.failedFuture(LockstepException.aborted("aborted by the operator before MIGRATING")));
    });
  }

  /** "MIGRATING: applying repairs, then 2 migration(s) to schema 3; the contract (V4 (…)) after the switch" */
  static String migratingEvent(ReleaseDocument doc) {
    List<String> contract = doc.contract().any() ? doc.contract().migrations() : List.of();
    int before = doc.pending().size() - contract.size();
    return "MIGRATING: applying repairs, then " + before + " migration(s)" + (contract.isEmpty()
        ? " to schema " + doc.schema()
        : "; the contract (" + String.join(", ", contract) + ") after the switch, to schema " + doc.schema());
  }

  /**
   * Runs the backup command once the fleet is ready, unless this release already has a good backup
   * (a run resumed after it). A failed or timed-out backup aborts the release before any schema change.
   */
  private Future<ReleaseDocument> backedUp(ReleaseDocument ready, Attempt attempt) {
    if (!backup.configured() || (ready.backup() != null && ready.backup().succeeded())) {
      return Future.succeededFuture(ready);
    }
    attempt.checkStopping("before the backup");
    ReleaseJournal journal = attempt.journal();
    return journal.write(ready, "PREPARING: every agent prepared; running the backup command (timeout "
            + Durations.format(backup.timeout()) + ")")
        .compose(doc -> worker.executeBlocking(() -> backup.run(doc.id(), doc.service()), true))
        .compose(result -> journal.write(journal.stored().toBuilder().backup(result).build(), result.succeeded()
                ? "PREPARING: backup done in " + Durations.format(Duration.ofMillis(result.durationMs())) : null)
            .compose(doc -> result.succeeded() ? Future.succeededFuture(doc)
                : Future.failedFuture(LockstepException.aborted(describe(result)))));
  }

  private static String describe(BackupResult result) {
    String how = result.timedOut() ? "ran past its timeout and was stopped after "
        + Durations.format(Duration.ofMillis(result.durationMs()))
        : "exited " + result.exitCode() + " after " + Durations.format(Duration.ofMillis(result.durationMs()));
    return "backup command " + how + (result.stderrTail().isEmpty() ? "" : ": " + result.stderrTail())
        + "; nothing in the schema changed";
  }
}
