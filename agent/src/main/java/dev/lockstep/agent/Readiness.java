package dev.lockstep.agent;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import java.util.Objects;

/**
 * Readiness mode's answer: whether this instance should take traffic now, and why. Pure, like {@link Reconciler}, and
 * level-triggered: it reads only what the agent knows about itself and the service's desired state, so a sidecar
 * restarted at any moment answers right as soon as it has read the desired state once.
 *
 * <p>The rules (DESIGN.md, "Containers and Kubernetes"): an instance is ready when its revision is the service's released
 * revision (that of its last completed release) and no maintenance release has stopped it. During a release to R,
 * instances on R (new) are not ready until SWITCHING, and then only once they switched with the release's migrations;
 * instances on another revision (retiring) stop being ready at SWITCHING, or at PREPARING in maintenance mode. Before
 * the first release of a service no instance is ready; the first release makes its instances ready when it switches.
 * Retiring instances stop when the desired state says {@code retire}: in online mode the coordinator says so once every
 * new instance is ready, so the service is never left without a ready instance.
 * While the coordinator cannot be reached the agent does not decide again, so it keeps its last answer.
 *
 * <pre>{@code Readiness r = Readiness.decide(local, desired); // r.ready(), r.reason()}</pre>
 *
 * @param ready whether {@code GET /ready} answers 200
 * @param reason one line for people: what the answer rests on
 */
public record Readiness(boolean ready, String reason) {

  /** Before any desired state arrived: a new instance stays out of the load balancer. */
  public static final Readiness NOT_YET = new Readiness(false, "no answer from the coordinator yet");

  public Readiness {
    Objects.requireNonNull(reason, "reason");
  }

  public static Readiness decide(LocalState local, DesiredState desired) {
    if (desired == null) {
      return NOT_YET;
    }
    String released = desired.releasedRevision();
    String revision = local.revision();
    if (desired.phase() == null || desired.releaseId() == null) {
      return no("no release of service " + desired.service() + " has completed yet; the first one makes this instance"
          + " ready when it switches");
    }
    String release = "release " + desired.releaseId();
    String target = desired.targetRevision();
    return switch (desired.phase()) {
      case PLANNED, PREFLIGHT, PREPARING, MIGRATING -> {
        if (desired.mode() == Mode.MAINTENANCE && desired.phase() != Phase.PLANNED && desired.phase() != Phase.PREFLIGHT) {
          yield no("maintenance " + release + " stopped the old code while the schema changes (" + desired.phase() + ")");
        }
        if (revision.equals(released)) {
          yield yes("serving released revision " + released + " while " + release + " to " + target + " is at "
              + desired.phase());
        }
        if (revision.equals(target)) {
          yield no("new instance on " + target + ": waiting for " + release + " to switch (now " + desired.phase() + ")");
        }
        yield notReleased(revision, released);
      }
      case SWITCHING, CONTRACTING, COMPLETED -> {
        if (!revision.equals(target)) {
          if (desired.retire() || desired.phase() != Phase.SWITCHING) {
            yield no("retired: " + release + " moved service " + desired.service() + " to " + target);
          }
          yield revision.equals(released)
              ? yes("serving released revision " + released + " until the new instances on " + target + " are ready")
              : notReleased(revision, released);
        }
        String digestProblem = digestProblem(local, desired);
        if (digestProblem != null) {
          yield no(digestProblem);
        }
        boolean switched = local.state() == AgentState.SERVING || local.state() == AgentState.SWITCHED;
        if (switched || revision.equals(released)) {
          yield yes("serving " + target + (desired.phase() == Phase.SWITCHING ? ", switched by " : ", released by ")
              + release);
        }
        yield no("new instance on " + target + ": " + (local.state() == AgentState.FAILED
            ? "could not switch: " + local.detail() : "switching (" + local.state().wireName() + ")"));
      }
      case ABORTED, FAILED -> {
        if (local.state() == AgentState.HOLDING) {
          yield no("holding: " + release + " failed part-way in maintenance mode; the old code may not read the schema");
        }
        if (revision.equals(released)) {
          yield yes("serving released revision " + released + "; " + release + " to " + target + " ended "
              + desired.phase());
        }
        yield no((revision.equals(target) ? "new instance on " + target + ": " + release + " ended " + desired.phase()
            + "; " : "") + notReleased(revision, released).reason());
      }
    };
  }

  /**
   * A new instance whose migrations are not the release's: the coordinator checked the instances that took part, but
   * one that arrives after PREPARING is checked here, by itself, before it takes traffic.
   */
  private static String digestProblem(LocalState local, DesiredState desired) {
    if (local.digest() == null || desired.digest() == null || local.digest().equals(desired.digest())) {
      return null;
    }
    return "this instance's migrations (digest " + MigrationsDigest.shortForm(local.digest()) + ") are not those "
        + "release " + desired.releaseId() + " applied (" + MigrationsDigest.shortForm(desired.digest())
        + "); deploy the build of that release";
  }

  private static Readiness notReleased(String revision, String released) {
    return no("revision " + revision + " is not the released revision"
        + (released == null ? " (no release of this service has completed yet)" : " " + released));
  }

  private static Readiness yes(String reason) {
    return new Readiness(true, reason);
  }

  private static Readiness no(String reason) {
    return new Readiness(false, reason);
  }
}
