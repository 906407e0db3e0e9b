package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.store.StoreFailure;
import dev.lockstep.coordinator.store.StoreState;
import dev.lockstep.protocol.ErrorBody;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /health}, {@code GET /ready} and {@code GET /live}, all without a token; {@code /live} answers 200 while
 * the process runs, whatever the stores, for a platform's liveness probe. Until start-up has finished they
 * answer from what start-up saw of each store; after it, each request asks PostgreSQL and Redis
 * itself (at most {@value #PROBE_TIMEOUT_MS} ms each), so an outage and its end show at once.
 *
 * <p>{@code /health} is for people and monitoring: {@code status} ({@code ok}, {@code starting},
 * {@code degraded}), {@code service}, {@code database} and {@code redis} ({@code ok},
 * {@code connecting} or {@code down: <cause>}), {@code ready}, and {@code databaseDownSince} /
 * {@code redisDownSince} while one is down. {@code /ready} is for a load balancer: 200
 * {@code {"ready":true}} only when both stores answer and start-up has finished, else 503 with a
 * {@code reason} naming what it waits for. Neither ever shows a URL or a password.
 *
 * <pre>{@code
 * HealthRoutes health = new HealthRoutes(vertx, service, postgresState, redisState);
 * health.mount(router);
 * ...
 * health.started(pool, redisson); // start-up done: /ready may answer 200 now
 * }</pre>
 */
public final class HealthRoutes {
  private static final Logger log = LoggerFactory.getLogger(HealthRoutes.class);
  static final long PROBE_TIMEOUT_MS = 2_000;
  private static final String WHILE_DOWN = "requests that need it answer 503 until it is back, not ready";

  private final Vertx vertx;
  private final String service;
  private final StoreState postgres;
  private final StoreState redis;
  private volatile Stores stores;

  private record Stores(Pool pool, RedissonClient redisson) {}

  public HealthRoutes(Vertx vertx, String service, StoreState postgres, StoreState redis) {
    this.vertx = vertx;
    this.service = service;
    this.postgres = postgres;
    this.redis = redis;
  }

  public void mount(Router router) {
    // Liveness: the process runs and its event loop answers. Never the stores: restarting a coordinator does not bring
    // a database back, and a platform that restarts on /health would restart every instance through an outage.
    router.get("/live").handler(ctx -> Responses.json(ctx, 200, Map.of("live", true)));
    router.get("/health").handler(ctx -> probe().onComplete(r -> health(ctx)));
    router.get("/ready").handler(ctx -> probe().onComplete(r -> ready(ctx)));
  }

  /**
   * For a request that starts work on the stores ({@code needsRedis}: on Redis too, as a release does; a
   * check needs PostgreSQL only): asks them first and, while one is down, answers 503 {@code unavailable}
   * naming it, at once, where the work would wait on the store and fail with the client's own words.
   * Mounted ahead of the route, so it answers before the token is checked.
   */
  public Handler<RoutingContext> refuseWhileDown(boolean needsRedis) {
    return ctx -> probe().onComplete(r -> {
      List<String> down = new ArrayList<>();
      for (StoreState store : needsRedis ? List.of(postgres, redis) : List.of(postgres)) {
        StoreState.Seen seen = store.seen();
        if (seen.status() == StoreState.Status.UNREACHABLE) {
          down.add(store.store() + " is unavailable (unreachable since " + seen.since() + ": " + seen.cause() + ")");
        }
      }
      if (down.isEmpty()) {
        ctx.next();
        return;
      }
      String detail = String.join("; ", down) + "; retry shortly";
      log.warn("{} {} -> 503: {}", ctx.request().method(), ctx.request().path(), detail);
      Responses.json(ctx, 503, new ErrorBody("unavailable", detail));
    });
  }

  /** Start-up has finished with these clients: from now on requests ask the stores themselves. */
  public void started(Pool pool, RedissonClient redisson) {
    stores = new Stores(pool, redisson);
  }

  /** What the coordinator waits for, in a sentence, e.g. "PostgreSQL unreachable since …: Connection refused". */
  public String notReadyReason() {
    List<String> waits = new ArrayList<>();
    for (StoreState store : List.of(postgres, redis)) {
      StoreState.Seen seen = store.seen();
      switch (seen.status()) {
        case CONNECTING -> waits.add(store.store() + " not reached yet");
        case UNREACHABLE -> waits.add(store.store() + " unreachable since " + seen.since() + ": " + seen.cause());
        case REACHABLE -> { }
      }
    }
    if (waits.isEmpty() && stores == null) {
      waits.add("start-up not finished (resuming unfinished releases)");
    }
    return String.join("; ", waits);
  }

  private boolean ready() {
    return stores != null && postgres.seen().reachable() && redis.seen().reachable();
  }

  private void health(RoutingContext ctx) {
    StoreState.Seen db = postgres.seen();
    StoreState.Seen kv = redis.seen();
    boolean ready = ready();
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", ready ? "ok" : db.status() == StoreState.Status.UNREACHABLE || kv.status() == StoreState.Status.UNREACHABLE
        ? "degraded" : "starting");
    body.put("service", service);
    body.put("database", db.summary());
    body.put("redis", kv.summary());
    body.put("ready", ready);
    if (db.status() == StoreState.Status.UNREACHABLE) {
      body.put("databaseDownSince", db.since().toString());
    }
    if (kv.status() == StoreState.Status.UNREACHABLE) {
      body.put("redisDownSince", kv.since().toString());
    }
    Responses.json(ctx, ready ? 200 : 503, body);
  }

  private void ready(RoutingContext ctx) {
    if (ready()) {
      Responses.json(ctx, 200, Map.of("ready", true));
      return;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("ready", false);
    body.put("reason", notReadyReason());
    body.put("database", postgres.seen().summary());
    body.put("redis", redis.seen().summary());
    Responses.json(ctx, 503, body);
  }

  // Before start-up has finished, start-up itself keeps the states current.
  private Future<Void> probe() {
    Stores now = stores;
    if (now == null) {
      return Future.succeededFuture();
    }
    Future<?> db = now.pool().query("SELECT 1").execute();
    Future<?> kv = Future.fromCompletionStage(now.redisson().getBucket("lockstep:health").isExistsAsync(), vertx.getOrCreateContext());
    return Future.join(seen(postgres, db), seen(redis, kv)).mapEmpty();
  }

  private static Future<Void> seen(StoreState state, Future<?> answer) {
    return answer.timeout(PROBE_TIMEOUT_MS, TimeUnit.MILLISECONDS).transform(r -> {
      if (r.succeeded()) {
        state.reachable();
      } else {
        state.unreachable(StoreFailure.cause(r.cause()), WHILE_DOWN);
      }
      return Future.<Void>succeededFuture();
    });
  }
}
