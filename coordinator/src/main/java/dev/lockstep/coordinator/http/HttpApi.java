package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.migration.SetUpload;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.coordinator.preflight.Checker;
import dev.lockstep.coordinator.release.ReleaseService;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.coordinator.store.ReleaseStore;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;
import io.vertx.sqlclient.Pool;
import java.util.LinkedHashMap;
import java.util.Map;
import org.redisson.api.RedissonClient;

/**
 * The coordinator's HTTP API (see DESIGN.md, "Interfaces"): routes mounted from one class per
 * resource, one failure handler for all of them, {@code /health} and {@code /metrics} without a
 * token.
 */
public final class HttpApi {
  static final long BODY_LIMIT = 1 << 20;
  static final java.util.List<String> UPLOAD_ROUTES = java.util.List.of("/v1/releases", "/v1/check");

  private HttpApi() {}

  public static Router router(Vertx vertx, Auth auth, AgentRegistry registry, DesiredStateWatch watch, Nudges nudges,
                              ReleaseService releases, Checker checker, ReleaseStore store, MigrationSetStore sets, Pool pool,
                              RedissonClient redisson,
                              PrometheusMeterRegistry meters, String service) {
    Router router = Router.router(vertx);
    // The two requests that may carry a migration set get room for one; everything else stays at 1 MiB
    // (a route's body handler runs once, so the general one below passes these through).
    for (String upload : UPLOAD_ROUTES) {
      router.post(upload).handler(BodyHandler.create(false).setBodyLimit(SetUpload.Limits.DEFAULT.bodyBytes()));
    }
    router.route().handler(BodyHandler.create(false).setBodyLimit(BODY_LIMIT));
    router.get("/health").handler(ctx -> health(vertx, pool, redisson, service).onComplete(r -> {
      Map<String, Object> body = r.result();
      boolean ok = "ok".equals(body.get("status"));
      Responses.json(ctx, ok ? 200 : 503, body);
    }));
    router.get("/metrics").handler(PrometheusScrapingHandler.create(meters));
    new AgentRoutes(registry, watch, nudges, auth).mount(router);
    new ReleaseRoutes(vertx, releases, store, nudges, auth).mount(router);
    new ReleaseMigrationRoutes(store, sets, auth).mount(router);
    new MigrationSetRoutes(sets, auth).mount(router);
    new MigrationRoutes(checker, auth).mount(router);
    new DashboardRoutes().mount(router);
    Failures failures = new Failures();
    router.route().failureHandler(failures);
    router.errorHandler(404, failures);
    router.errorHandler(405, failures);
    return router;
  }

  private static Future<Map<String, Object>> health(Vertx vertx, Pool pool, RedissonClient redisson, String service) {
    Future<String> db = pool.query("SELECT 1").execute().map("ok").otherwise(e -> "down: " + e.getMessage());
    Future<String> redis = Future.fromCompletionStage(redisson.getBucket("lockstep:health").isExistsAsync(),
        vertx.getOrCreateContext()).map("ok").otherwise(e -> "down: " + e.getMessage());
    return Future.join(db, redis).transform(r -> {
      Map<String, Object> body = new LinkedHashMap<>();
      boolean ok = "ok".equals(db.result()) && "ok".equals(redis.result());
      body.put("status", ok ? "ok" : "degraded");
      body.put("service", service);
      body.put("database", db.result());
      body.put("redis", redis.result());
      return Future.succeededFuture(body);
    });
  }
}
