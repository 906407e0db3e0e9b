package dev.lockstep.coordinator.http;

import static dev.lockstep.coordinator.http.Responses.reply;

import dev.lockstep.coordinator.preflight.Checker;
import dev.lockstep.protocol.ReleaseRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/** {@code GET /v1/migrations} (history) and {@code POST /v1/check} (pre-flight without a release). Operator token. */
final class MigrationRoutes {
  private final Checker checker;
  private final Auth auth;

  MigrationRoutes(Checker checker, Auth auth) {
    this.checker = checker;
    this.auth = auth;
  }

  void mount(Router router) {
    router.get("/v1/migrations").handler(auth.require(Role.OPERATOR)).handler(ctx -> reply(ctx, 200,
        checker.history(ctx.queryParams().get("service") == null ? null : Names.service("query parameter service",
            ctx.queryParams().get("service")))));
    router.post("/v1/check").handler(auth.require(Role.OPERATOR)).handler(this::check);
  }

  private void check(RoutingContext ctx) {
    reply(ctx, 200, checker.check(Responses.optionalBody(ctx, ReleaseRequest.class, ReleaseRequest.of(null, null))));
  }
}
