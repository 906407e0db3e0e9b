package dev.lockstep.coordinator.release;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.ReleaseAgent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Pure judgement of the fleet's progress through PREPARING and SWITCHING, from the agents' latest
 * reports. Kept apart from the run so every rule can be unit-tested.
 */
public final class FleetCheck {

  /**
   * Where a wait stands: the participants as now known, whether all are through, the reason to stop
   * if one of them cannot go on, and the participants the registry does not know at the moment.
   */
  public record Progress(List<ReleaseAgent> agents, boolean done, String failure, List<String> unregistered) {}

  private FleetCheck() {}

  /** Every participant must report PREPARED for this release, with the coordinator's digest. */
  public static Progress prepare(String releaseId, String digest, List<ReleaseAgent> participants,
                                 Map<String, AgentStatus> reports) {
    List<ReleaseAgent> agents = new ArrayList<>();
    List<String> unregistered = new ArrayList<>();
    boolean done = true;
    String failure = null;
    for (ReleaseAgent p : participants) {
      AgentStatus r = reports.get(p.id());
      ReleaseAgent now = p;
      if (r == null) {
        // Not registered now: removed by an operator, or the registry was lost with a Redis restart
        // and the agent has not reported since. The run decides how long that may last.
        unregistered.add(p.id());
        done = false;
      } else if (r.state() == AgentState.LOST) {
        failure = first(failure, "agent " + p.id() + " was lost during PREPARING (silent since " + r.lastSeen() + ")");
        now = new ReleaseAgent(p.id(), AgentState.LOST, p.digest(), null, null);
      } else if (releaseId.equals(r.releaseId())) {
        now = new ReleaseAgent(p.id(), r.state(), r.digest(), null, r.detail());
        if (r.state() == AgentState.FAILED) {
          failure = first(failure, "agent " + p.id() + " refused to prepare: " + r.detail());
        } else if (r.state() == AgentState.PREPARED) {
          if (r.digest() == null) {
            failure = first(failure, "agent " + p.id() + " reported no migrations digest; start it with --migrations"
                + " pointing at the migrations folder it deploys");
          } else if (!r.digest().equals(digest)) {
            failure = first(failure, "agent " + p.id() + " staged migrations digest " + MigrationsDigest.shortForm(r.digest())
                + " but release " + releaseId + " carries migration set " + MigrationsDigest.shortForm(digest)
                + "; deploy the build of that set to "
                + p.id() + " or remove it from the service");
          }
        } else {
          done = false;
        }
      } else {
        done = false;
      }
      agents.add(now);
    }
    return new Progress(agents, done && failure == null, failure, unregistered);
  }

  /**
   * Every participant must report SWITCHED (or SERVING after it) for this release, or, if it
   * restarted after switching and no longer names the release, serve the target revision.
   */
  public static Progress switched(String releaseId, String targetRevision, List<ReleaseAgent> participants,
                                  Map<String, AgentStatus> reports) {
    List<ReleaseAgent> agents = new ArrayList<>();
    List<String> unregistered = new ArrayList<>();
    boolean done = true;
    String failure = null;
    for (ReleaseAgent p : participants) {
      AgentStatus r = reports.get(p.id());
      ReleaseAgent now = p;
      if (r == null) {
        // Not registered now: removed by an operator, or the registry was lost with a Redis restart
        // and the agent has not reported since. The run decides how long that may last.
        unregistered.add(p.id());
        done = false;
      } else if (r.state() == AgentState.LOST) {
        failure = first(failure, "agent " + p.id() + " was lost during SWITCHING (silent since " + r.lastSeen() + ")");
        now = new ReleaseAgent(p.id(), AgentState.LOST, p.digest(), p.switchedAt(), p.detail());
      } else if (releaseId.equals(r.releaseId())) {
        now = new ReleaseAgent(p.id(), r.state(), p.digest(), r.switchedAt(), r.detail());
        if (r.state() == AgentState.FAILED) {
          failure = first(failure, "agent " + p.id() + " failed to switch: " + r.detail());
        } else if (r.switchedAt() == null || !(r.state() == AgentState.SWITCHED || r.state() == AgentState.SERVING)) {
          done = false;
        }
      } else if (r.state() == AgentState.SERVING && targetRevision.equals(r.revision())) {
        // Restarted on the new code: its report no longer names the release, but it serves the target.
        now = new ReleaseAgent(p.id(), AgentState.SERVING, p.digest(), p.switchedAt(), r.detail());
      } else {
        done = false;
      }
      agents.add(now);
    }
    return new Progress(agents, done && failure == null, failure, unregistered);
  }

  /** Latest minus earliest switch time, in milliseconds; null until every agent switched. */
  public static Long skewMs(List<ReleaseAgent> agents) {
    if (agents.isEmpty() || agents.stream().anyMatch(a -> a.switchedAt() == null)) {
      return agents.isEmpty() ? 0L : null;
    }
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    for (ReleaseAgent a : agents) {
      long t = java.time.Instant.parse(a.switchedAt()).toEpochMilli();
      min = Math.min(min, t);
      max = Math.max(max, t);
    }
    return max - min;
  }

  private static String first(String existing, String candidate) {
    return existing != null ? existing : candidate;
  }
}
