package dev.lockstep.coordinator.http;

import static dev.lockstep.coordinator.http.Responses.body;
import static dev.lockstep.coordinator.http.Responses.exactBody;
import static dev.lockstep.coordinator.http.Responses.json;
import static dev.lockstep.coordinator.http.Responses.longParam;
import static dev.lockstep.coordinator.http.Responses.reply;
import static dev.lockstep.coordinator.http.Responses.serviceParam;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.coordinator.fleet.RegistryView;
import dev.lockstep.coordinator.release.StagedSets;
import dev.lockstep.coordinator.store.AgentDepartures;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.MigrationSetUpload;
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
 * /v1/services/{service}/desired} (blocking query), {@code DELETE /v1/agents/{id}?service=} with an agent's own token
 * (an ephemeral agent leaving), {@code PUT /v1/services/{service}/migration-sets/{digest}} (the set of an agent's
 * image, when the answer to its report asked for it: {@link StagedSets}), and the operators' view of the fleet:
 * {@code GET /v1/agents}, {@code GET /v1/agents/{id}[?service=]}, {@code DELETE /v1/agents/{id}[?service=]}. An agent
 * is (service, id): the report's body names the service; the operator's calls name it with {@code ?service=}, which
 * may be left out while the id is unique across services. An agent token may report and read only for its own
 * (service, id) ({@link Caller}); a removal and a leave are audited ({@link AgentDepartures}).
 */
final class AgentRoutes {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(AgentRoutes.class);
  private static final Pattern DIGEST = Pattern.compile("[0-9a-f]{1,128}");
  private static final int MAX_DETAIL = 4000;
  private static final Duration MAX_WAIT = Duration.ofMinutes(5);
  private static final java.util.Set<AgentState> IN_A_RELEASE = java.util.EnumSet.of(AgentState.PREPARING,
      AgentState.PREPARED, AgentState.SWITCHING, AgentState.SWITCHED, AgentState.FAILED);

  private final AgentRegistry registry;
  private final RegistryView view;
  private final DesiredStateWatch watch;
  private final Nudges nudges;
  private final Auth auth;
  private final StreamSlots longPolls;
  private final StagedSets staged;
  private final AgentDepartures departures;

  AgentRoutes(AgentRegistry registry, DesiredStateWatch watch, Nudges nudges, Auth auth, StreamSlots longPolls,
              StagedSets staged, AgentDepartures departures) {
    this.longPolls = longPolls;
    this.staged = staged;
    this.departures = departures;
    this.registry = registry;
    this.view = new RegistryView(registry, java.time.Clock.systemUTC());
    this.nudges = nudges;
    this.watch = watch;
    this.auth = auth;
  }

  void mount(Router router) {
    router.put("/v1/agents/:id").handler(auth.require(Role.AGENT, Role.OPERATOR)).handler(this::report);
    router.get("/v1/agents").handler(auth.require(Role.OPERATOR)).handler(this::list);
    router.get("/v1/agents/:id").handler(auth.require(Role.OPERATOR)).handler(this::get);
    router.delete("/v1/agents/:id").handler(auth.require(Role.OPERATOR, Role.AGENT)).handler(this::remove);
    router.get("/v1/services/:service/desired").handler(auth.require(Role.AGENT, Role.OPERATOR)).handler(this::desired);
    router.put(SET_UPLOAD).handler(auth.require(Role.AGENT, Role.OPERATOR)).handler(this::uploadSet);
  }

  /** Where an agent sends the set of its image; its body may be as large as a release's upload. */
  static final String SET_UPLOAD = "/v1/services/:service/migration-sets/:digest";

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
    Caller caller = Caller.of(ctx);
    reply(ctx, 200, registry.report(valid).onSuccess(saved -> {
      view.reported(saved);
      if (report.releaseId() != null && IN_A_RELEASE.contains(report.state())) {
        nudges.publish(Nudges.RUN_INPUT, report.service());
      }
    }).compose(saved -> askForSet(saved, caller)));
  }

  /**
   * The answer to a report: the agent as now seen and, for a readiness-mode agent whose image's migration set is not
   * stored, {@code sendMigrations} asking it for the set ({@link StagedSets}). Only an agent's own token is asked: an
   * operator reporting by hand has no folder to send.
   */
  private Future<Map<String, Object>> askForSet(AgentStatus saved, Caller caller) {
    Map<String, Object> answer = dev.lockstep.protocol.Json.mapper().convertValue(saved,
        new com.fasterxml.jackson.core.type.TypeReference<java.util.LinkedHashMap<String, Object>>() {});
    if (!saved.readinessMode() || saved.digest() == null || caller.role() != Role.AGENT) {
      return Future.succeededFuture(answer);
    }
    return staged.ask(saved.service(), saved.digest(), saved.service() + "/" + saved.id())
        .otherwise(e -> {
          log.warn("could not tell whether migration set {} is stored: {}", saved.digest(), e.getMessage());
          return null;
        })
        .map(digest -> {
          if (digest != null) {
            answer.put("sendMigrations", digest);
          }
          return answer;
        });
  }

  private void uploadSet(RoutingContext ctx) {
    String service = Names.service("service", ctx.pathParam("service"));
    String digest = ctx.pathParam("digest");
    if (digest == null || !digest.matches("[0-9a-f]{64}")) {
      throw LockstepException.badRequest("path digest must be a hex SHA-256 of 64 characters (got '"
          + Names.printable(digest) + "')");
    }
    Caller caller = Caller.of(ctx);
    caller.mayReadDesiredStateOf(service);
    MigrationSetUpload upload = exactBody(ctx, MigrationSetUpload.class, "so a misspelt 'files' is named, not taken for none");
    reply(ctx, 200, staged.receive(service, digest, upload, caller.name()).map(set -> {
      Map<String, Object> answer = new java.util.LinkedHashMap<>();
      answer.put("digest", set.digest());
      answer.put("files", set.files().size());
      answer.put("stored", true);
      return answer;
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
    if (report.reportIntervalMs() < 0) {
      throw LockstepException.badRequest("field 'reportIntervalMs'" + of + " must not be negative (got "
          + report.reportIntervalMs() + ")");
    }
    return report.detail() == null ? report : report.withDetail(detail(report.detail()));
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
    java.util.function.Predicate<AgentStatus> filter = a -> (revision == null || revision.equals(a.revision()))
        && (wanted == null || wanted == a.state());
    String after = ctx.request().getParam("after");
    int limit = (int) longParam(ctx, "limit", 0, 1, MAX_PAGE);
    if (service == null) {
      // Across services a page's cursor names both: after=SERVICE/ID, in the list's order (service, then id).
      String[] from = after == null ? null : allServicesCursor(after);
      // Every service at once: no view; the ETag is the body's own digest, so a re-read of the same fleet is a 304.
      registry.list(null).onFailure(ctx::fail).onSuccess(list -> {
        List<AgentStatus> matching = list.stream().filter(filter).toList();
        int start = 0;
        if (from != null) {
          while (start < matching.size() && !afterCursor(matching.get(start), from)) {
            start++;
          }
        }
        int end = limit > 0 ? Math.min(matching.size(), start + limit) : matching.size();
        List<AgentStatus> page = matching.subList(start, end);
        Map<String, Object> answer = new java.util.LinkedHashMap<>();
        answer.put("agents", page);
        answer.put("total", matching.size());
        if (end < matching.size() && !page.isEmpty()) {
          AgentStatus last = page.get(page.size() - 1);
          answer.put("next", last.service() + "/" + last.id());
        }
        String body = dev.lockstep.protocol.Json.write(answer);
        String etag = "\"all-" + contentTag(body) + "\"";
        if (etag.equals(ctx.request().getHeader("If-None-Match"))) {
          ctx.response().setStatusCode(304).putHeader("ETag", etag).end();
        } else {
          ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json").putHeader("ETag", etag).end(body);
        }
      });
      return;
    }
    if (after != null) {
      Names.agentId("query parameter after", after);
    }
    // The ETag is the view's version and the question: the same question while nothing changed is a 304.
    String query = Integer.toHexString(java.util.Objects.hash(revision, wanted, after, limit));
    String asked = ctx.request().getHeader("If-None-Match");
    Future<RegistryView.Page> page = view.version(service).compose(version -> tag(version, query).equals(asked)
        ? Future.succeededFuture(null) : view.page(service, filter, after, limit));
    page.onFailure(ctx::fail).onSuccess(p -> {
      if (p == null) {
        ctx.response().setStatusCode(304).putHeader("ETag", asked).end();
        return;
      }
      io.vertx.core.buffer.Buffer body = io.vertx.core.buffer.Buffer.buffer(p.json().length + 64)
          .appendString("{\"agents\":").appendBytes(p.json()).appendString(",\"total\":" + p.total());
      if (p.next() != null) {
        body.appendString(",\"next\":").appendString(dev.lockstep.protocol.Json.write(p.next()));
      }
      ctx.response().setStatusCode(200).putHeader("Content-Type", "application/json")
          .putHeader("ETag", tag(p.version(), query)).end(body.appendString("}"));
    });
  }

  /** A page has at most this many agents. */
  private static final int MAX_PAGE = 10_000;

  /** {@code after} across services: {@code SERVICE/ID} (neither may hold a slash), as a page's {@code next} gives it. */
  private static String[] allServicesCursor(String after) {
    int slash = after.indexOf('/');
    if (slash < 0) {
      throw LockstepException.badRequest("query parameter after lists every service from SERVICE/ID (a page's next),"
          + " e.g. after=shop/web-3; got '" + Names.printable(after) + "' (add ?service=S to page one service by id)");
    }
    return new String[] {Names.service("query parameter after's service", after.substring(0, slash)),
        Names.agentId("query parameter after's agent id", after.substring(slash + 1))};
  }

  /** Whether {@code agent} comes after the cursor in the list's order: by service, then id. */
  private static boolean afterCursor(AgentStatus agent, String[] cursor) {
    int byService = agent.service().compareTo(cursor[0]);
    return byService > 0 || (byService == 0 && agent.id().compareTo(cursor[1]) > 0);
  }

  /** The first 16 hex digits of the body's SHA-256. */
  private static String contentTag(String body) {
    return dev.lockstep.protocol.MigrationsDigest.sha256(body.getBytes(java.nio.charset.StandardCharsets.UTF_8))
        .substring(0, 16);
  }

  private static String tag(String version, String query) {
    return "\"" + version + "-" + query + "\"";
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
    if (caller.role() == Role.AGENT) {
      leave(ctx, id, caller);
      return;
    }
    reply(ctx, 200, resolve(id, serviceParam(ctx)).compose(agent -> departures.record(agent.service(), id,
            AgentDepartures.How.REMOVED, agent.revision(), caller.name(), caller.address())
        .compose(audited -> registry.remove(agent.service(), id))
        .onSuccess(removed -> view.removed(agent.service(), id))
        .compose(removed -> removed ? Future.succeededFuture(departed(agent, caller, "removed"))
            : Future.failedFuture(LockstepException.notFound("agent " + id + " of service " + agent.service()
                + " was removed meanwhile")))));
  }

  /**
   * An agent leaving for good with its own token (an ephemeral agent whose pod stops): gone from the registry at once,
   * recorded as left, never lost. Idempotent: leaving twice, or after being forgotten, answers 200 all the same.
   */
  private void leave(RoutingContext ctx, String id, Caller caller) {
    String service = serviceParam(ctx);
    if (service == null) {
      throw LockstepException.badRequest("an agent leaving names its service: DELETE /v1/agents/" + id + "?service=S");
    }
    caller.mayReportFor(service, id);
    reply(ctx, 200, registry.get(service, id).compose(agent -> departures.record(service, id, AgentDepartures.How.LEFT,
            agent.map(AgentStatus::revision).orElse(null), caller.name(), caller.address())
        .compose(audited -> registry.leave(service, id))
        .map(was -> {
          view.removed(service, id);
          log.info("agent {} of service {} left{} ({} from {})", id, service, was ? "" : " (it was not registered)",
              caller.name(), caller.address());
          Map<String, String> answer = new java.util.LinkedHashMap<>();
          answer.put("left", id);
          answer.put("service", service);
          answer.put("requestedBy", caller.name());
          answer.put("requestedFrom", caller.address());
          return answer;
        })));
  }

  /** The audit of a removal: a log line and the answer name who asked and from where. */
  private static Map<String, String> departed(AgentStatus agent, Caller caller, String how) {
    log.info("agent {} of service {} {} by {} from {}", agent.id(), agent.service(), how, caller.name(), caller.address());
    Map<String, String> answer = new java.util.LinkedHashMap<>();
    answer.put(how, agent.id());
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
        .onSuccess(state -> ctx.response().setStatusCode(200).putHeader("X-Lockstep-Index", Long.toString(state.index()))
            .putHeader("Content-Type", "application/json")
            // The bytes every waiting agent is sent, serialised once per change (DesiredStateWatch.Snapshot).
            .end(io.vertx.core.buffer.Buffer.buffer(state.json())))
        .onFailure(ctx::fail);
  }
}
