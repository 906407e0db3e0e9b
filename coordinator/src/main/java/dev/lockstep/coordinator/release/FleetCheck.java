package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.fleet.AgentRegistry.Departure;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRole;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pure judgement of the fleet's progress through PREPARING and SWITCHING, from the agents' latest
 * reports. Kept apart from the run so every rule can be unit-tested.
 *
 * <p>Participants take part by {@link ReleaseRole}: {@code in-place} servers and {@code new} instances prepare (digest
 * checked) and switch; {@code retiring} instances are not asked to prepare and report {@code retired} at the switch
 * (before MIGRATING in maintenance mode, when the old code must stop first). New instances that appear during
 * PREPARING join (a Deployment brings its new pods one by one), and PREPARING waits for at least {@code minReady} of
 * them. An ephemeral participant that left, or fell silent past its liveness timeout, is gone: its pod will not come
 * back, so the release no longer waits for it; any other participant that is lost stops the release.
 */
public final class FleetCheck {

  /**
   * Where a wait stands: the participants as now known, whether all are through, the reason to stop
   * if one of them cannot go on, the participants the registry does not know at the moment, and what is still
   * missing when every participant is through but too few new instances are (null otherwise).
   */
  public record Progress(List<ReleaseAgent> agents, boolean done, String failure, List<String> unregistered,
                         String shortfall) {}

  /** What a wait in PREPARING holds the fleet to. */
  public record PrepareGoal(String releaseId, String digest, String targetRevision, Mode mode, int minReady) {
    static PrepareGoal of(ReleaseDocument doc, String digest) {
      Integer min = doc.options().minReady();
      return new PrepareGoal(doc.id(), digest, doc.revision(), doc.mode(), min == null ? 0 : min);
    }
  }

  private FleetCheck() {}

  /**
   * In-place and new participants must report PREPARED for this release, with the release's digest; in maintenance
   * mode retiring ones must have retired; and at least {@code minReady} new instances must be prepared.
   */
  public static Progress prepare(PrepareGoal goal, List<ReleaseAgent> participants, Map<String, AgentStatus> reports,
                                 Map<String, Departure> departed) {
    List<ReleaseAgent> agents = new ArrayList<>();
    List<String> unregistered = new ArrayList<>();
    boolean done = true;
    String failure = null;
    int preparedNew = 0;
    for (ReleaseAgent p : withArrivals(participants, reports, goal.targetRevision())) {
      AgentStatus r = reports.get(p.id());
      ReleaseAgent now = p;
      String gone = p.gone() ? p.detail() : gone(r, departed.get(p.id()), "PREPARING");
      if (gone != null) {
        now = p.gone() ? p : p.goneBecause(gone);
      } else if (r == null) {
        // Not registered now: removed by an operator, or the registry was lost with a Redis restart
        // and the agent has not reported since. The run decides how long that may last.
        unregistered.add(p.id());
        done = false;
      } else if (r.state() == AgentState.LOST) {
        failure = first(failure, "agent " + p.id() + " was lost during PREPARING (silent since " + r.lastSeen() + ")");
        now = new ReleaseAgent(p.id(), AgentState.LOST, p.digest(), null, null, p.role());
      } else if (p.role() == ReleaseRole.RETIRING) {
        boolean retired = goal.releaseId().equals(r.releaseId()) && r.state() == AgentState.RETIRED;
        now = new ReleaseAgent(p.id(), r.state(), null, retired ? r.switchedAt() : null, null, p.role());
        if (goal.mode() == Mode.MAINTENANCE && !retired) {
          done = false;
        }
      } else if (goal.releaseId().equals(r.releaseId())) {
        now = new ReleaseAgent(p.id(), r.state(), r.digest(), null, r.detail(), p.role());
        if (r.state() == AgentState.FAILED) {
          failure = first(failure, "agent " + p.id() + " refused to prepare: " + r.detail());
        } else if (r.state() == AgentState.PREPARED) {
          if (r.digest() == null) {
            failure = first(failure, "agent " + p.id() + " reported no migrations digest; start it with --migrations"
                + " pointing at the migrations folder it deploys");
          } else if (!r.digest().equals(goal.digest())) {
            failure = first(failure, "agent " + p.id() + " staged migrations digest " + MigrationsDigest.shortForm(r.digest())
                + " but release " + goal.releaseId() + " carries migration set " + MigrationsDigest.shortForm(goal.digest())
                + "; deploy the build of that set to "
                + p.id() + " or remove it from the service");
          } else if (p.role() == ReleaseRole.NEW) {
            preparedNew++;
          }
        } else {
          done = false;
        }
      } else {
        done = false;
      }
      agents.add(now);
    }
    String shortfall = preparedNew >= goal.minReady() ? null
        : "only " + preparedNew + " of the " + goal.minReady() + " new instance(s) on " + goal.targetRevision()
            + " the release waits for (--min-ready) prepared";
    return new Progress(agents, done && failure == null && shortfall == null, failure, unregistered, shortfall);
  }

  /**
   * In-place and new participants must report SWITCHED (or SERVING after it) for this release, or, if one restarted
   * after switching and no longer names the release, serve the target revision; retiring ones must report RETIRED for
   * this release.
   */
  public static Progress switched(String releaseId, String targetRevision, List<ReleaseAgent> participants,
                                  Map<String, AgentStatus> reports, Map<String, Departure> departed) {
    List<ReleaseAgent> agents = new ArrayList<>();
    List<String> unregistered = new ArrayList<>();
    boolean done = true;
    String failure = null;
    for (ReleaseAgent p : participants) {
      AgentStatus r = reports.get(p.id());
      ReleaseAgent now = p;
      String gone = p.gone() ? p.detail() : gone(r, departed.get(p.id()), "SWITCHING");
      if (gone != null) {
        now = p.gone() ? p : p.goneBecause(gone);
      } else if (r == null) {
        // Not registered now: removed by an operator, or the registry was lost with a Redis restart
        // and the agent has not reported since. The run decides how long that may last.
        unregistered.add(p.id());
        done = false;
      } else if (r.state() == AgentState.LOST) {
        failure = first(failure, "agent " + p.id() + " was lost during SWITCHING (silent since " + r.lastSeen() + ")");
        now = new ReleaseAgent(p.id(), AgentState.LOST, p.digest(), p.switchedAt(), p.detail(), p.role());
      } else if (p.role() == ReleaseRole.RETIRING) {
        boolean retired = releaseId.equals(r.releaseId()) && r.state() == AgentState.RETIRED;
        now = new ReleaseAgent(p.id(), r.state(), null, retired ? r.switchedAt() : null, null, p.role());
        if (!retired || r.switchedAt() == null) {
          done = false;
        }
      } else if (releaseId.equals(r.releaseId())) {
        now = new ReleaseAgent(p.id(), r.state(), p.digest(), r.switchedAt(), r.detail(), p.role());
        if (r.state() == AgentState.FAILED) {
          failure = first(failure, "agent " + p.id() + " failed to switch: " + r.detail());
        } else if (r.switchedAt() == null || !(r.state() == AgentState.SWITCHED || r.state() == AgentState.SERVING)) {
          done = false;
        }
      } else if (r.state() == AgentState.SERVING && targetRevision.equals(r.revision())) {
        // Restarted on the new code: its report no longer names the release, but it serves the target.
        now = new ReleaseAgent(p.id(), AgentState.SERVING, p.digest(), p.switchedAt(), r.detail(), p.role());
      } else {
        done = false;
      }
      agents.add(now);
    }
    return new Progress(agents, done && failure == null, failure, unregistered, null);
  }

  /**
   * Whether the fleet is told {@code retire}: readiness-mode instances on another revision stop taking traffic. In
   * maintenance mode from PREPARING on, before the schema changes; in online mode only once every new instance still
   * there has switched (turned ready), so the service is never left without a ready instance while new pods are slower
   * than old ones (a switch hook, a slow probe); and at CONTRACTING and COMPLETED. Never after a release that ended badly.
   */
  public static boolean retire(ReleaseDocument doc) {
    return switch (doc.phase()) {
      case PREPARING, MIGRATING -> doc.mode() == Mode.MAINTENANCE;
      case SWITCHING -> doc.mode() == Mode.MAINTENANCE || doc.agents().stream()
          .filter(a -> a.role() == ReleaseRole.NEW && !a.gone())
          .allMatch(a -> a.switchedAt() != null && (a.state() == AgentState.SWITCHED || a.state() == AgentState.SERVING));
      case CONTRACTING, COMPLETED -> true;
      default -> false;
    };
  }

  /**
   * Latest minus earliest switch time over the participants still there, in milliseconds: in readiness mode the new
   * instances turning ready and the retiring ones turning un-ready; null until every one of them switched.
   */
  public static Long skewMs(List<ReleaseAgent> agents) {
    List<ReleaseAgent> present = agents.stream().filter(a -> !a.gone()).toList();
    if (present.isEmpty() || present.stream().anyMatch(a -> a.switchedAt() == null)) {
      return present.isEmpty() ? 0L : null;
    }
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    for (ReleaseAgent a : present) {
      long t = java.time.Instant.parse(a.switchedAt()).toEpochMilli();
      min = Math.min(min, t);
      max = Math.max(max, t);
    }
    return max - min;
  }

  /**
   * The participant list with the readiness-mode agents that appeared since it was made: on the target revision as
   * new instances (they prepare too), on another as retiring ones (they are counted out at the switch).
   */
  private static List<ReleaseAgent> withArrivals(List<ReleaseAgent> participants, Map<String, AgentStatus> reports,
                                                 String targetRevision) {
    Set<String> known = new LinkedHashSet<>();
    participants.forEach(p -> known.add(p.id()));
    List<ReleaseAgent> all = new ArrayList<>(participants);
    reports.values().stream()
        .filter(r -> r.readinessMode() && r.state() != AgentState.LOST && !known.contains(r.id()))
        .sorted(java.util.Comparator.comparing(AgentStatus::id))
        .forEach(r -> all.add(targetRevision.equals(r.revision())
            ? new ReleaseAgent(r.id(), AgentState.PREPARING, null, null, null, ReleaseRole.NEW)
            : new ReleaseAgent(r.id(), r.state(), null, null, null, ReleaseRole.RETIRING)));
    return all;
  }

  /**
   * How an ephemeral participant went, or null if it has not: it left (its pod stopped), was forgotten, or is lost —
   * a pod never comes back under its id, so waiting for it would wait for ever.
   */
  private static String gone(AgentStatus report, Departure departure, String phase) {
    if (report == null) {
      return departure == null ? null : departure.how() + " at " + departure.at() + " during " + phase;
    }
    if (report.state() == AgentState.LOST && report.ephemeral()) {
      return "ephemeral agent lost during " + phase + " (silent since " + report.lastSeen() + ")";
    }
    return null;
  }

  private static String first(String existing, String candidate) {
    return existing != null ? existing : candidate;
  }
}
