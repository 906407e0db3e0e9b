package dev.lockstep.coordinator.http;

import static dev.lockstep.coordinator.http.Responses.body;
import static dev.lockstep.coordinator.http.Responses.longParam;
import static dev.lockstep.coordinator.http.Responses.reply;
import static dev.lockstep.coordinator.http.Responses.serviceParam;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.release.ReleaseService;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseEvent;
import dev.lockstep.protocol.ReleaseRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;

/**
 * Releases: {@code POST /v1/releases}, {@code GET /v1/releases[?service=]}, {@code GET
 * /v1/releases/{id}}, {@code GET /v1/releases/{id}/events} (server-sent events) and {@code POST
 * /v1/releases/{id}/abort}. Operator token only; a start and an abort record who asked ({@link Caller}).
 */
final class ReleaseRoutes {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ReleaseRoutes.class);
  /** Events are pushed by a nudge when written; this re-read only covers a nudge lost between instances. */
  private static final long EVENT_FALLBACK_MS = 1000;
  private static final long HEARTBEAT_MS = 15_000;
  private static final long MAX_LIMIT = 200;

  private final Vertx vertx;
  private final ReleaseService releases;
  private final ReleaseStore store;
  private final Nudges nudges;
  private final Auth auth;
  private final StreamSlots eventStreams;

  ReleaseRoutes(Vertx vertx, ReleaseService releases, ReleaseStore store, Nudges nudges, Auth auth,
                StreamSlots eventStreams) {
    this.eventStreams = eventStreams;
    this.vertx = vertx;
    this.nudges = nudges;
    this.releases = releases;
    this.store = store;
    this.auth = auth;
  }

  void mount(Router router) {
    router.post("/v1/releases").handler(auth.require(Role.OPERATOR)).handler(this::create);
    router.get("/v1/releases").handler(auth.require(Role.OPERATOR)).handler(this::list);
    router.get("/v1/releases/:id").handler(auth.require(Role.OPERATOR)).handler(this::get);
    router.get("/v1/releases/:id/events").handler(auth.require(Role.OPERATOR)).handler(this::events);
    router.post("/v1/releases/:id/abort").handler(auth.require(Role.OPERATOR)).handler(this::abort);
  }

  private void create(RoutingContext ctx) {
    ReleaseRequest request = body(ctx, ReleaseRequest.class);
    if (request.service() != null && !request.service().isEmpty()) {
      Names.service("field 'service' of ReleaseRequest", request.service());
    }
    Caller caller = Caller.of(ctx);
    reply(ctx, 202, releases.start(request, caller.name(), caller.address()));
  }

  private void list(RoutingContext ctx) {
    int limit = (int) longParam(ctx, "limit", 20, 1, MAX_LIMIT);
    reply(ctx, 200, store.recent(serviceParam(ctx), limit).map(list -> Map.of("releases", list)));
  }

  private void get(RoutingContext ctx) {
    reply(ctx, 200, find(releaseId(ctx)));
  }

  private void abort(RoutingContext ctx) {
    String id = releaseId(ctx);
    Caller caller = Caller.of(ctx);
    reply(ctx, 202, releases.abort(id, caller.name(), caller.address())
        .onSuccess(doc -> log.info("abort of release {} requested by {} from {}", id, caller.name(), caller.address())));
  }

  private static String releaseId(RoutingContext ctx) {
    return Names.releaseId("release id", ctx.pathParam("id"));
  }

  /**
   * Streams the release's event log: everything so far (or after {@code Last-Event-ID}), then new
   * events as they are written, until the release ends. Reads the durable log, so it works
   * whichever coordinator instance runs the release.
   */
  private void events(RoutingContext ctx) {
    String id = releaseId(ctx);
    long after = ctx.request().getHeader("Last-Event-ID") == null ? 0
        : parseLastEventId(ctx.request().getHeader("Last-Event-ID"));
    // Held from before the first read, so a flood of streams is refused before it reaches PostgreSQL.
    eventStreams.hold(ctx);
    find(id).onFailure(ctx::fail).onSuccess(doc -> {
      HttpServerResponse response = ctx.response();
      response.setChunked(true)
          .putHeader("Content-Type", "text/event-stream")
          .putHeader("Cache-Control", "no-cache")
          .putHeader("X-Accel-Buffering", "no");
      response.write(": release " + id + "\n\n");
      stream(ctx, id, after, vertx.setPeriodic(HEARTBEAT_MS, t -> {
        if (!response.ended() && !response.closed()) {
          response.write(": keep-alive\n\n");
        }
      }));
    });
  }

  private void stream(RoutingContext ctx, String id, long after, long heartbeat) {
    HttpServerResponse response = ctx.response();
    if (response.closed() || response.ended()) {
      vertx.cancelTimer(heartbeat);
      return;
    }
    // Listen before reading, so an event written during the read still wakes the next round.
    Future<Void> woken = nudges.next(Nudges.RELEASE_EVENT, id, EVENT_FALLBACK_MS);
    store.events(id, after).compose(events -> {
      long last = after;
      for (ReleaseEvent e : events) {
        send(response, e);
        last = e.seq();
      }
      long seen = last;
      return find(id).map(doc -> Map.entry(seen, doc));
    }).onComplete(result -> {
      if (result.failed()) {
        vertx.cancelTimer(heartbeat);
        response.end();
        return;
      }
      long seen = result.result().getKey();
      ReleaseDocument doc = result.result().getValue();
      if (doc.phase().isTerminal()) {
        // One last read: events written together with the terminal phase must not be lost.
        store.events(id, seen).onComplete(last -> {
          if (last.succeeded()) {
            last.result().forEach(e -> send(response, e));
          }
          response.write("event: end\ndata: " + Json.write(doc) + "\n\n");
          vertx.cancelTimer(heartbeat);
          response.end();
        });
      } else {
        woken.onComplete(t -> stream(ctx, id, seen, heartbeat));
      }
    });
  }

  private static void send(HttpServerResponse response, ReleaseEvent e) {
    response.write("id: " + e.seq() + "\nevent: " + e.phase().name() + "\ndata: " + Json.write(e) + "\n\n");
  }

  private Future<ReleaseDocument> find(String id) {
    return store.get(id).compose(doc -> doc.map(Future::succeededFuture)
        .orElseGet(() -> Future.failedFuture(LockstepException.notFound("no release " + id))));
  }

  private static long parseLastEventId(String text) {
    try {
      return Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      throw LockstepException.badRequest("Last-Event-ID must be a whole number (got '" + Names.printable(text) + "')");
    }
  }
}
