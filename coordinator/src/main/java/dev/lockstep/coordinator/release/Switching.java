package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.coordinator.config.Durations;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * SWITCHING: the schema is at the target and every participant was told, in the transaction that
 * entered the phase, to switch at once. Waits for each switch, then COMPLETED with the switch skew.
 * The schema never goes back from here: an agent that cannot switch fails the release, and the others stay switched.
 */
public final class Switching implements PhaseStep {
  private final FleetWait fleet;
  private final Duration timeout;
  private final ReleaseMetrics metrics;
  private final Clock clock;

  public Switching(FleetWait fleet, Duration timeout, ReleaseMetrics metrics, Clock clock) {
    this.fleet = fleet;
    this.timeout = timeout;
    this.metrics = metrics;
    this.clock = clock;
  }

  @Override
  public Future<ReleaseDocument> run(ReleaseDocument stored, Attempt attempt) {
    FleetWait.Goal goal = new FleetWait.Goal(Phase.SWITCHING, timeout,
        (participants, reports) -> FleetCheck.switched(stored.id(), stored.revision(), participants, reports),
        a -> a.switchedAt() != null ? a.id() + " switched at " + a.switchedAt()
            : a.state() == AgentState.SERVING ? a.id() + " serves " + stored.revision() + " (restarted)" : null,
        reason -> LockstepException.failed(reason, null));
    return fleet.await(goal, attempt).compose(switched -> {
      Long skew = FleetCheck.skewMs(switched.agents());
      if (skew != null) {
        metrics.switchSkew(skew);
      }
      return attempt.journal().tell(switched.toBuilder().phase(Phase.COMPLETED).switchSkewMs(skew).build(),
          "COMPLETED in " + Durations.format(Duration.between(Instant.parse(switched.createdAt()), clock.instant())) + "; "
              + switched.agents().size() + " agent(s) on revision " + switched.revision() + ", schema " + switched.schema()
              + (skew == null ? "" : ", switch skew " + skew + " ms"), false);
    });
  }
}
