package dev.lockstep.coordinator.http;

import static dev.lockstep.coordinator.http.Responses.body;
import static dev.lockstep.coordinator.http.Responses.json;
import static dev.lockstep.coordinator.http.Responses.longParam;
import static dev.lockstep.coordinator.http.Responses.reply;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.coordinator.config.Durations;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import io.vertx.core.Future;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The agents' side of the API: {@code PUT /v1/agents/{id}} (report), {@code GET
 * /v1/services/{service}/desired} (blocking query), and the operators' view of the fleet: {@code GET
 * /v1/agents}, {@code GET /v1/agents/{id}}, {@code DELETE /v1/agents/{id}}.
 */
final class AgentRoutes {
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:@-]{1,128}");
  private static final Duration MAX_WAIT = Duration.ofMinutes(5);

  private final AgentRegistry registry;
  private final DesiredStateWatch watch;
  private final Auth auth;

  AgentRoutes(AgentRegistry registry, DesiredStateWatch watch, Auth auth) {
    this.registry = registry;
    this.watch = watch;
    this.auth = auth;
  }

  void mount(Router router) {
    router.put("/v1/agents/:id").handler(auth.require(Role.AGENT, Role.OPERATOR)).handler(this::report);
    router.get("/v1/agents").handler(auth.require(Role.OPERATOR)).handler(this::list);
    router.get("/v1/agents/:id").handler(auth.require(Role.OPERATOR)).handler(this::get);
    router.delete("/v1/agents/:id").handler(auth.require(Role.OPERATOR)).handler(this::remove);
    router.get("/v1/services/:service/desired").handler(auth.require(Role.AGENT, Role.OPERATOR)).handler(this::desired);
  }

  private void report(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    AgentReport report = body(ctx, AgentReport.class);
    if (!ID.matcher(id).matches()) {
      throw LockstepException.badRequest("agent id '" + id + "' must be 1–128 letters, digits or . _ : @ -");
    }
    if (!id.equals(report.id())) {
      throw LockstepException.badRequest("agent id in the path (" + id + ") differs from the body (" + report.id() + ")");
    }
    if (report.service() == null || report.service().isBlank()) {
      throw LockstepException.badRequest("report of agent " + id + " names no service");
    }
    if (report.revision() == null || report.revision().isBlank()) {
      throw LockstepException.badRequest("report of agent " + id + " names no revision");
    }
    if (report.state() == null || report.state() == AgentState.LOST) {
      throw LockstepException.badRequest("report of agent " + id + " needs a state other than lost");
    }
    reply(ctx, 200, registry.report(report));
  }

  private void list(RoutingContext ctx) {
    String service = ctx.request().getParam("service");
    String revision = ctx.request().getParam("revision");
    String state = ctx.request().getParam("state");
    AgentState wanted = state == null ? null : AgentState.parse(state);
    Future<List<AgentStatus>> agents = registry.list(service).map(list -> list.stream()
        .filter(a -> revision == null || revision.equals(a.revision()))
        .filter(a -> wanted == null || wanted == a.state())
        .toList());
    reply(ctx, 200, agents.map(list -> Map.of("agents", list)));
  }

  private void get(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    reply(ctx, 200, registry.get(id).compose(a -> a.map(Future::succeededFuture)
        .orElseGet(() -> Future.failedFuture(LockstepException.notFound("no agent " + id + " is registered")))));
  }

  private void remove(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    registry.remove(id).onSuccess(removed -> {
      if (removed) {
        json(ctx, 200, Map.of("removed", id));
      } else {
        ctx.fail(LockstepException.notFound("no agent " + id + " is registered"));
      }
    }).onFailure(ctx::fail);
  }

  private void desired(RoutingContext ctx) {
    String service = ctx.pathParam("service");
    long index = longParam(ctx, "index", 0);
    String waitText = ctx.request().getParam("wait");
    Duration wait = waitText == null ? Duration.ZERO : Durations.parse(waitText);
    if (wait.compareTo(MAX_WAIT) > 0) {
      throw LockstepException.badRequest("wait may be at most 5m (got " + waitText + ")");
    }
    watch.await(service, index, wait)
        .onSuccess(state -> {
          ctx.response().putHeader("X-Lockstep-Index", Long.toString(state.index()));
          json(ctx, 200, state);
        })
        .onFailure(ctx::fail);
  }
}
