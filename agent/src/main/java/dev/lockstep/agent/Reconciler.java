package dev.lockstep.agent;

import static dev.lockstep.protocol.AgentState.FAILED;
import static dev.lockstep.protocol.AgentState.PREPARED;
import static dev.lockstep.protocol.AgentState.PREPARING;
import static dev.lockstep.protocol.AgentState.SWITCHED;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Phase;
import java.util.EnumSet;
import java.util.Set;

/**
 * Decides what an agent does about a desired state, given what it knows about itself. Pure: no I/O, no
 * clock, so every rule is a unit test. Level-triggered: deciding again on the same inputs after the action
 * ran yields {@link Action.Nothing}, so a desired state seen twice (or late) is harmless.
 *
 * <pre>{@code
 * Action action = Reconciler.decide(local, desired);
 * if (action instanceof Action.Prepare p) { ... }
 * }</pre>
 */
public final class Reconciler {
  /** States in which the agent has taken part in a release without switching: it is owed an abort. */
  private static final Set<AgentState> PREPARED_NOT_SWITCHED = EnumSet.of(PREPARING, PREPARED, FAILED);

  private Reconciler() {}

  /** For a long-lived server that switches in place with hooks (no readiness mode). */
  public static Action decide(LocalState local, DesiredState desired) {
    return decide(local, desired, false);
  }

  /**
   * @param readinessMode the agent answers a readiness probe ({@code --readiness-port}): an instance on another
   *     revision than the release's never prepares or switches in place; it retires
   */
  public static Action decide(LocalState local, DesiredState desired, boolean readinessMode) {
    if (desired.epoch() < local.epoch()) {
      // A coordinator that lost the fence may still answer; what it says is history.
      return new Action.IgnoreStale(desired, local.epoch());
    }
    if (desired.releaseId() == null || desired.phase() == null) {
      return new Action.Nothing(desired);
    }
    boolean sameRelease = local.isFor(desired.releaseId());
    if (readinessMode && desired.targetRevision() != null && !desired.targetRevision().equals(local.revision())) {
      return retiring(local, desired, sameRelease);
    }
    return switch (desired.phase()) {
      case PLANNED, PREFLIGHT -> new Action.Nothing(desired);
      case PREPARING, MIGRATING -> sameRelease && PREPARED_NOT_SWITCHED.contains(local.state())
          ? new Action.Nothing(desired)
          : new Action.Prepare(desired);
      // CONTRACTING: every server was switched; the coordinator waits for the last old one before it removes anything.
      case SWITCHING, CONTRACTING, COMPLETED -> switchOrServe(local, desired, sameRelease);
      case ABORTED, FAILED -> !sameRelease || !PREPARED_NOT_SWITCHED.contains(local.state())
          ? new Action.Nothing(desired)
          : desired.hold() && desired.phase() == Phase.FAILED ? new Action.Hold(desired) : new Action.Abort(desired);
    };
  }

  /**
   * A retiring instance (readiness mode, not on the target revision): its image cannot become the target, so it only
   * stops taking traffic when the release says so ({@code retire}, and at COMPLETED), and comes back if a maintenance
   * release that stopped it aborts.
   */
  private static Action retiring(LocalState local, DesiredState desired, boolean sameRelease) {
    boolean retired = sameRelease && local.state() == AgentState.RETIRED;
    return switch (desired.phase()) {
      case PLANNED, PREFLIGHT -> new Action.Nothing(desired);
      case PREPARING, MIGRATING, SWITCHING -> desired.retire() && !retired
          ? new Action.Retire(desired) : new Action.Nothing(desired);
      // After the switch only an instance that served before has anything to retire from; a pod of a newer revision
      // that arrived meanwhile waits for its own release as it is.
      case CONTRACTING, COMPLETED -> retired || local.releaseId() == null ? new Action.Nothing(desired)
          : new Action.Retire(desired);
      case ABORTED, FAILED -> !retired ? new Action.Nothing(desired)
          : desired.hold() && desired.phase() == Phase.FAILED ? new Action.Hold(desired) : new Action.Abort(desired);
    };
  }

  private static Action switchOrServe(LocalState local, DesiredState desired, boolean sameRelease) {
    boolean completed = desired.phase() == Phase.COMPLETED || desired.phase() == Phase.CONTRACTING;
    if (sameRelease && local.state() == SWITCHED) {
      return completed ? new Action.Serve(desired) : new Action.Nothing(desired);
    }
    if (sameRelease && local.state() != PREPARED && local.state() != PREPARING) {
      // Already switched (and serving), failed or aborted for this release: never retried on its own,
      // or a broken hook would run every 30 seconds for ever.
      return new Action.Nothing(desired);
    }
    if (desired.targetRevision() == null) {
      return new Action.Nothing(desired);
    }
    if (sameRelease && local.state() == PREPARED) {
      // Even on the target revision already: in maintenance mode prepare stopped serving, only switch resumes it.
      return new Action.Switch(desired, false);
    }
    if (!desired.targetRevision().equals(local.revision())) {
      // Missed PREPARING (new, restarted or disconnected): catch up by preparing, then switching.
      return new Action.Switch(desired, true);
    }
    // Already on the target without having switched for this release (e.g. restarted after deploying it).
    return completed ? new Action.Serve(desired) : new Action.Nothing(desired);
  }
}
