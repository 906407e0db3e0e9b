package dev.lockstep.coordinator.http;

import static dev.lockstep.coordinator.http.Responses.json;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Phase;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code GET /v1/services/{service}/gate?revision=R}: a webhook for a platform that moves traffic itself (Argo Rollouts
 * analysis, Flagger's confirm-promotion). 200 {@code {"open": true}} once the schema for R is in place and the fleet may
 * move to R — a release to R is switching, or R is the service's released revision — else 409 {@code {"open":
 * false}}; both with {@code reason}, {@code revision} and the {@code releaseId} the answer rests on. Read from the
 * desired state every instance keeps, so it answers at once and the same on any instance. The operator token, or an
 * agent token of that service (a gate is read-only, and the platform's webhook may hold what its pods hold).
 */
final class GateRoutes {
  static final String PATH = "/v1/services/:service/gate";

  private final DesiredStateWatch watch;
  private final Auth auth;

  GateRoutes(DesiredStateWatch watch, Auth auth) {
    this.watch = watch;
    this.auth = auth;
  }

  void mount(Router router) {
    router.get(PATH).handler(auth.require(Role.OPERATOR, Role.AGENT)).handler(this::gate);
  }

  private void gate(RoutingContext ctx) {
    String service = Names.service("service", ctx.pathParam("service"));
    Caller.of(ctx).mayReadDesiredStateOf(service);
    String revisionText = ctx.request().getParam("revision");
    if (revisionText == null || revisionText.isBlank()) {
      throw LockstepException.badRequest("query parameter revision is required: the revision the platform would move"
          + " to, e.g. ?revision=v2");
    }
    String revision = Names.revision("query parameter revision", revisionText);
    watch.await(service, -1, Duration.ZERO).onFailure(ctx::fail).onSuccess(desired -> {
      Map<String, Object> answer = judge(desired.state(), revision);
      json(ctx, Boolean.TRUE.equals(answer.get("open")) ? 200 : 409, answer);
    });
  }

  /** The gate's answer for {@code revision} from the service's desired state. */
  static Map<String, Object> judge(DesiredState desired, String revision) {
    String release = desired.releaseId() == null ? null : "release " + desired.releaseId();
    if (revision.equals(desired.targetRevision()) && desired.phase() != null
        && desired.phase().switchedOrLater()) {
      return answer(true, revision, desired.releaseId(), switch (desired.phase()) {
        case COMPLETED -> "revision " + revision + " is released (" + release + " completed)";
        case CONTRACTING -> release + " to " + revision + " switched and waits to contract: the schema for it is in place";
        default -> release + " to " + revision + " is switching: the schema for it is in place";
      });
    }
    if (revision.equals(desired.releasedRevision())) {
      return answer(true, revision, desired.releaseId(), "revision " + revision + " is the released revision of service "
          + desired.service());
    }
    if (desired.phase() == null) {
      return answer(false, revision, null, "no release of service " + desired.service() + " has run yet; release "
          + revision + " first");
    }
    if (revision.equals(desired.targetRevision())) {
      String why = desired.phase().isTerminal()
          ? release + " to " + revision + " ended " + desired.phase() + "; see GET /v1/releases/" + desired.releaseId()
          : release + " to " + revision + " is at " + desired.phase() + ": the schema for it is not in place yet";
      return answer(false, revision, desired.releaseId(), why);
    }
    return answer(false, revision, desired.releaseId(), "no release has moved service " + desired.service() + " to "
        + revision + (desired.releasedRevision() == null ? "" : "; its released revision is " + desired.releasedRevision())
        + (desired.phase().isTerminal() ? "" : "; " + release + " to " + desired.targetRevision() + " is at "
            + desired.phase()));
  }

  private static Map<String, Object> answer(boolean open, String revision, String releaseId, String reason) {
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("open", open);
    answer.put("revision", revision);
    answer.put("releaseId", releaseId);
    answer.put("reason", reason);
    return answer;
  }
}
