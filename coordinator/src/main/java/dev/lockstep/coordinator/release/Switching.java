package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseRole;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import dev.lockstep.protocol.ReleaseAgent;

/**
 * SWITCHING: the schema is at the target (but for the contract migrations) and every participant was told, in the
 * transaction that entered the phase, to switch at once. Waits for each switch, then COMPLETED with the switch skew, or
 * CONTRACTING when the release has contract migrations.
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

  /** "3 agent(s) on revision v2", or with readiness mode "3 new instance(s) ready on v2, 3 retired". */
  private static String describe(ReleaseDocument doc) {
    long retired = doc.agents().stream().filter(a -> a.role() == ReleaseRole.RETIRING && !a.gone()).count();
    long fresh = doc.agents().stream().filter(a -> a.role() == ReleaseRole.NEW && !a.gone()).count();
    long inPlace = doc.agents().stream().filter(a -> a.role() == ReleaseRole.IN_PLACE && !a.gone()).count();
    long gone = doc.agents().stream().filter(ReleaseAgent::gone).count();
    if (retired == 0 && fresh == 0 && gone == 0) {
      return inPlace + " agent(s) on revision " + doc.revision();
    }
    List<String> parts = new java.util.ArrayList<>();
    if (fresh > 0) {
      parts.add(fresh + " new instance(s) ready on " + doc.revision());
    }
    if (inPlace > 0) {
      parts.add(inPlace + " agent(s) switched in place");
    }
    if (retired > 0) {
      parts.add(retired + " retired");
    }
    if (gone > 0) {
      parts.add(gone + " gone during the release");
    }
    return String.join(", ", parts);
  }

  @Override
  public Future<ReleaseDocument> run(ReleaseDocument stored, Attempt attempt) {
    FleetWait.Goal goal = new FleetWait.Goal(Phase.SWITCHING, timeout,
        (participants, reports, departed) -> FleetCheck.switched(stored.id(), stored.revision(), participants, reports,
            departed),
        a -> a.role() == ReleaseRole.RETIRING
            ? (a.switchedAt() != null ? a.id() + " retired at " + a.switchedAt() : null)
            : a.switchedAt() != null ? a.id() + (a.role() == ReleaseRole.NEW ? " ready at " : " switched at ") + a.switchedAt()
            : a.state() == AgentState.SERVING ? a.id() + " serves " + stored.revision() + " (restarted)" : null,
        a -> true,
        reason -> LockstepException.failed(reason, null),
        (before, after) -> !FleetCheck.retire(before) && FleetCheck.retire(after)
            ? "every new instance is ready: the retiring instances stop taking traffic now" : null);
    return fleet.await(goal, attempt).compose(switched -> {
      Long skew = FleetCheck.skewMs(switched.agents());
      if (skew != null) {
        metrics.switchSkew(skew);
      }
      if (switched.contract().any()) {
        // The removals wait for the last server on another revision: CONTRACTING, told to the fleet (as switched).
        return attempt.journal().tell(switched.toBuilder().phase(Phase.CONTRACTING).switchSkewMs(skew).build(),
            "CONTRACTING: " + describe(switched) + (skew == null ? "" : ", switch skew " + skew + " ms") + "; the contract ("
                + String.join(", ", switched.contract().migrations()) + ") waits until no agent runs another revision",
            false);
      }
      return attempt.journal().tell(switched.toBuilder().phase(Phase.COMPLETED).switchSkewMs(skew).build(),
          "COMPLETED in " + Durations.format(Duration.between(Instant.parse(switched.createdAt()), clock.instant())) + "; "
              + describe(switched) + ", schema " + switched.schema() + (skew == null ? "" : ", switch skew " + skew + " ms"),
          false);
    });
  }
}
