package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.baseline.Baselines;
import dev.lockstep.coordinator.set.SetUpload;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.coordinator.preflight.Checker;
import dev.lockstep.coordinator.release.PendingContracts;
import dev.lockstep.coordinator.release.ReleaseService;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.coordinator.store.ReleaseStore;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import dev.lockstep.coordinator.release.StagedSets;
import dev.lockstep.coordinator.store.AgentDepartures;
import io.vertx.micrometer.PrometheusScrapingHandler;

/**
 * The coordinator's HTTP API (see DESIGN.md, "Interfaces"): routes mounted from one class per
 * resource, one failure handler for all of them, {@code /health}, {@code /ready} ({@link HealthRoutes}),
 * {@code /metrics} and {@code /openapi.yaml} ({@link ApiDocumentRoutes}) without a token.
 */
public final class HttpApi {
  static final long BODY_LIMIT = 1 << 20;
  static final java.util.List<String> UPLOAD_ROUTES = java.util.List.of("/v1/releases", "/v1/check", BaselineRoutes.PATH);

  private static final java.util.regex.Pattern SET_UPLOAD_PATH = java.util.regex.Pattern.compile(
      "/v1/services/[^/]+/migration-sets/[^/]+");

  private HttpApi() {}

  /** Whether a request to {@code path} may carry a migration set, and so has room for one. */
  static boolean carriesSet(String method, String path) {
    return method.equals("POST") ? UPLOAD_ROUTES.contains(path)
        : method.equals("PUT") && SET_UPLOAD_PATH.matcher(path).matches();
  }

  public static Router router(Vertx vertx, Auth auth, AgentRegistry registry, DesiredStateWatch watch, Nudges nudges,
                              ReleaseService releases, Checker checker, Baselines baselines, ReleaseStore store,
                              MigrationSetStore sets, HealthRoutes health, PrometheusMeterRegistry meters) {
    return router(vertx, auth, registry, watch, nudges, releases, checker, baselines, store, sets, health, meters,
        ApiLimits.DEFAULT, null, null);
  }

  /** As above, holding callers to {@code limits} (docs/reference.md, "Limits"). */
  public static Router router(Vertx vertx, Auth auth, AgentRegistry registry, DesiredStateWatch watch, Nudges nudges,
                              ReleaseService releases, Checker checker, Baselines baselines, ReleaseStore store,
                              MigrationSetStore sets, HealthRoutes health, PrometheusMeterRegistry meters,
                              ApiLimits limits, StagedSets staged, AgentDepartures departures) {
    return router(vertx, auth, registry, watch, nudges, releases, checker, baselines, store, sets, health, meters, limits,
        staged, departures, null);
  }

  /** As above, with {@code lockstep contract}'s route when {@code contracts} is given. */
  public static Router router(Vertx vertx, Auth auth, AgentRegistry registry, DesiredStateWatch watch, Nudges nudges,
                              ReleaseService releases, Checker checker, Baselines baselines, ReleaseStore store,
                              MigrationSetStore sets, HealthRoutes health, PrometheusMeterRegistry meters,
                              ApiLimits limits, StagedSets staged, AgentDepartures departures, PendingContracts contracts) {
    Router router = Router.router(vertx);
    // The requests that may carry a migration set get room for one; everything else stays at 1 MiB
    // (a route's body handler runs once, so the general one below passes these through).
    for (String upload : UPLOAD_ROUTES) {
      router.post(upload).handler(BodyHandler.create(false).setBodyLimit(SetUpload.Limits.DEFAULT.bodyBytes()));
    }
    router.put(AgentRoutes.SET_UPLOAD).handler(BodyHandler.create(false).setBodyLimit(SetUpload.Limits.DEFAULT.bodyBytes()));
    router.route().handler(BodyHandler.create(false).setBodyLimit(BODY_LIMIT));
    health.mount(router);
    // New work is refused at once, naming the store, while a store it needs is down.
    router.post("/v1/releases").handler(health.refuseWhileDown(true));
    router.post("/v1/check").handler(health.refuseWhileDown(false));
    router.get("/metrics").handler(PrometheusScrapingHandler.create(meters));
    // Under mutual TLS, an agent's certificate must be that agent's: checked ahead of the agent routes.
    new AgentCertificateCheck().mount(router);
    new AgentRoutes(registry, watch, nudges, auth,
        new StreamSlots("long polls", "--max-long-polls", limits.maxLongPolls()), staged, departures).mount(router);
    new GateRoutes(watch, auth).mount(router);
    new ReleaseRoutes(vertx, releases, store, nudges, auth,
        new StreamSlots("event streams", "--max-event-streams", limits.maxEventStreams())).mount(router);
    new ReleaseMigrationRoutes(store, sets, auth).mount(router);
    new MigrationSetRoutes(sets, auth).mount(router);
    new MigrationRoutes(checker, auth).mount(router);
    new BaselineRoutes(baselines, health, auth).mount(router);
    if (contracts != null) {
      new ContractRoutes(contracts, auth).mount(router);
    }
    new DashboardRoutes().mount(router);
    new ApiDocumentRoutes(vertx).mount(router);
    Failures failures = new Failures();
    router.route().failureHandler(failures);
    router.errorHandler(404, failures);
    router.errorHandler(405, failures);
    return router;
  }
}
