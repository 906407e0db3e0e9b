package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import java.time.Duration;

/**
 * PREPARING: every participant stages the new code and acknowledges with the digest of the migrations
 * it staged. Then MIGRATING, in one statement that also checks no abort was asked for, so an abort
 * either lands before the schema is touched or is refused.
 */
public final class Preparing implements PhaseStep {
  private final FleetWait fleet;
  private final Duration timeout;

  public Preparing(FleetWait fleet, Duration timeout) {
    this.fleet = fleet;
    this.timeout = timeout;
  }

  @Override
  public Future<ReleaseDocument> run(ReleaseDocument stored, Attempt attempt) {
    FleetWait.Goal goal = new FleetWait.Goal(Phase.PREPARING, timeout,
        (participants, reports) -> FleetCheck.prepare(stored.id(), attempt.digest(), participants, reports),
        a -> a.state() == AgentState.PREPARED ? a.id() + " prepared (digest " + MigrationsDigest.shortForm(a.digest()) + ")" : null,
        LockstepException::aborted);
    return fleet.await(goal, attempt).compose(prepared -> {
      attempt.checkStopping("before MIGRATING");
      return attempt.journal().enterMigrating(prepared.toBuilder().phase(Phase.MIGRATING).build(),
              "MIGRATING: applying repairs, then " + prepared.pending().size() + " migration(s) to schema " + prepared.schema())
          .compose(entered -> entered ? Future.succeededFuture(attempt.journal().stored())
              : Future.failedFuture(LockstepException.aborted("aborted by the operator before MIGRATING")));
    });
  }
}
