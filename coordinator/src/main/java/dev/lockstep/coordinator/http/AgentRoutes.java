package dev.lockstep.coordinator.http;

import static dev.lockstep.coordinator.http.Responses.body;
import static dev.lockstep.coordinator.http.Responses.json;
import static dev.lockstep.coordinator.http.Responses.longParam;
import static dev.lockstep.coordinator.http.Responses.reply;
import static dev.lockstep.coordinator.http.Responses.serviceParam;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.coordinator.config.Durations;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import io.vertx.core.Future;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The agents' side of the API: {@code PUT /v1/agents/{id}} (report), {@code GET
 * /v1/services/{service}/desired} (blocking query), and the operators' view of the fleet: {@code GET
 * /v1/agents}, {@code GET /v1/agents/{id}[?service=]}, {@code DELETE /v1/agents/{id}[?service=]}. An agent is
 * (service, id): the report's body names the service; the operator's calls name it with
 * {@code ?service=}, which may be left out while the id is unique across services. An agent token may
 * report and read only for its own (service, id) ({@link Caller}); a removal is audited.
 */
final class AgentRoutes {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(AgentRoutes.class);
  private static final Pattern DIGEST = Pattern.compile("[0-9a-f]{1,128}");
  private static final int MAX_DETAIL = 4000;
  private static final Duration MAX_WAIT = Duration.ofMinutes(5);
  private static final java.util.Set<AgentState> IN_A_RELEASE = java.util.EnumSet.of(AgentState.PREPARING,
      AgentState.PREPARED, AgentState.SWITCHING, AgentState.SWITCHED, AgentState.FAILED);

  private final AgentRegistry registry;
  private final DesiredStateWatch watch;
  private final Nudges nudges;
  private final Auth auth;
  private final StreamSlots longPolls;

  AgentRoutes(AgentRegistry registry, DesiredStateWatch watch, Nudges nudges, Auth auth, StreamSlots longPolls) {
    this.longPolls = longPolls;
    this.registry = registry;
    this.nudges = nudges;
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
    String id = Names.agentId("agent id", ctx.pathParam("id"));
    AgentReport report = body(ctx, AgentReport.class);
    if (!id.equals(report.id())) {
      throw LockstepException.badRequest("agent id in the path (" + id + ") differs from the body ("
          + (report.id() == null ? "null" : Names.printable(report.id())) + ")");
    }
    AgentReport valid = checked(id, report);
    // Checked once the report is valid, so malformed input still gets its 400 naming the field, and the
    // 403 only ever names well-formed identities.
    Caller.of(ctx).mayReportFor(valid.service(), id);
    // A report of a release in progress wakes the run waiting for it (on whichever coordinator runs it);
    // the steady reports of serving agents wake nobody.
    reply(ctx, 200, registry.report(valid).onSuccess(saved -> {
      if (report.releaseId() != null && IN_A_RELEASE.contains(report.state())) {
        nudges.publish(Nudges.RUN_INPUT, report.service());
      }
    }));
  }

  /** Every field an agent sends ends up in Redis, release documents and terminals: each must be what it says. */
  private static AgentReport checked(String id, AgentReport report) {
    String of = " of the report of agent " + id;
    Names.service("field 'service'" + of, report.service());
    Names.revision("field 'revision'" + of, report.revision());
    if (report.state() == null || report.state() == AgentState.LOST) {
      throw LockstepException.badRequest("report of agent " + id + " needs a state other than lost");
    }
    if (report.releaseId() != null) {
      Names.releaseId("field 'releaseId'" + of, report.releaseId());
    }
    if (report.epoch() < 0) {
      throw LockstepException.badRequest("field 'epoch'" + of + " must not be negative (got " + report.epoch() + ")");
    }
    if (report.digest() != null && !DIGEST.matcher(report.digest()).matches()) {
      throw LockstepException.badRequest("field 'digest'" + of + " must be a hex SHA-256 (got '"
          + Names.printable(report.digest()) + "')");
    }
    if (report.switchedAt() != null) {
      try {
        Instant.parse(report.switchedAt());
      } catch (DateTimeParseException e) {
        throw LockstepException.badRequest("field 'switchedAt'" + of + " must be an ISO-8601 instant such as"
            + " 2026-01-01T12:00:00Z (got '" + Names.printable(report.switchedAt()) + "')");
      }
    }
    return report.detail() == null ? report : new AgentReport(report.id(), report.service(), report.revision(),
        report.state(), report.releaseId(), report.epoch(), report.digest(), detail(report.detail()), report.switchedAt());
  }

  /**
   * A hook's stderr tail, kept as free text (it may be coloured or multi-line) but without NUL, which
   * PostgreSQL's jsonb refuses in the release document, and bounded.
   */
  private static String detail(String text) {
    String clean = text.replace('\u0000', '\uFFFD');
    return clean.length() > MAX_DETAIL ? clean.substring(0, MAX_DETAIL) + "…" : clean;
  }

  private void list(RoutingContext ctx) {
    String service = serviceParam(ctx);
    String revision = ctx.request().getParam("revision");
    String state = ctx.request().getParam("state");
    AgentState wanted = state == null ? null : state(state);
    Future<List<AgentStatus>> agents = registry.list(service).map(list -> list.stream()
        .filter(a -> revision == null || revision.equals(a.revision()))
        .filter(a -> wanted == null || wanted == a.state())
        .toList());
    reply(ctx, 200, agents.map(list -> Map.of("agents", list)));
  }

  private static AgentState state(String text) {
    try {
      return AgentState.parse(text);
    } catch (IllegalArgumentException e) {
      throw LockstepException.badRequest("query parameter state: unknown agent state '" + Names.printable(text) + "'; use one of "
          + java.util.Arrays.stream(AgentState.values()).map(AgentState::wireName).collect(Collectors.joining(", ")));
    }
  }

  private void get(RoutingContext ctx) {
    reply(ctx, 200, resolve(Names.agentId("agent id", ctx.pathParam("id")), serviceParam(ctx)));
  }

  private void remove(RoutingContext ctx) {
    String id = Names.agentId("agent id", ctx.pathParam("id"));
    Caller caller = Caller.of(ctx);
    reply(ctx, 200, resolve(id, serviceParam(ctx)).compose(agent -> registry.remove(agent.service(), id)
        .compose(removed -> removed ? Future.succeededFuture(removed(agent, caller))
            : Future.failedFuture(LockstepException.notFound("agent " + id + " of service " + agent.service()
                + " was removed meanwhile")))));
  }

  /** The audit of a removal: a log line and the answer name who asked and from where. */
  private static Map<String, String> removed(AgentStatus agent, Caller caller) {
    log.info("agent {} of service {} removed by {} from {}", agent.id(), agent.service(), caller.name(), caller.address());
    Map<String, String> answer = new java.util.LinkedHashMap<>();
    answer.put("removed", agent.id());
    answer.put("service", agent.service());
    answer.put("requestedBy", caller.name());
    answer.put("requestedFrom", caller.address());
    return answer;
  }

  /**
   * The agent {@code id} of {@code service}; with no service named, the one agent of that id in any
   * service, or a 409 naming the services when there are several (ids are host names, and one host
   * may run agents of several services).
   */
  private Future<AgentStatus> resolve(String id, String service) {
    if (service != null) {
      return registry.get(service, id).compose(a -> a.map(Future::succeededFuture).orElseGet(() ->
          Future.failedFuture(LockstepException.notFound("no agent " + id + " is registered in service " + service))));
    }
    return registry.find(id).compose(found -> {
      if (found.isEmpty()) {
        return Future.failedFuture(LockstepException.notFound("no agent " + id + " is registered"));
      }
      if (found.size() > 1) {
        String services = found.stream().map(AgentStatus::service).collect(Collectors.joining(", "));
        return Future.failedFuture(LockstepException.conflict("agent id " + id + " is registered in " + found.size()
            + " services (" + services + "); pass ?service= to say which, e.g. ?service=" + found.get(0).service()));
      }
      return Future.succeededFuture(found.get(0));
    });
  }

  private void desired(RoutingContext ctx) {
    String service = Names.service("service", ctx.pathParam("service"));
    Caller.of(ctx).mayReadDesiredStateOf(service);
    long index = longParam(ctx, "index", 0, 0, Long.MAX_VALUE);
    String waitText = ctx.request().getParam("wait");
    Duration wait;
    try {
      wait = waitText == null ? Duration.ZERO : Durations.parse(waitText);
    } catch (IllegalArgumentException e) {
      throw LockstepException.badRequest("query parameter wait: " + e.getMessage());
    }
    if (wait.compareTo(MAX_WAIT) > 0) {
      throw LockstepException.badRequest("query parameter wait may be at most 5m (got " + waitText + ")");
    }
    if (!wait.isZero()) {
      // Only a query that may wait holds a slot; a plain read answers at once.
      longPolls.hold(ctx);
    }
    watch.await(service, index, wait)
        .onSuccess(state -> {
          ctx.response().putHeader("X-Lockstep-Index", Long.toString(state.index()));
          json(ctx, 200, state);
        })
        .onFailure(ctx::fail);
  }
}
