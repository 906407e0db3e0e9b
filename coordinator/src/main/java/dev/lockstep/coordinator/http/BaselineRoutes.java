package dev.lockstep.coordinator.http;

import static dev.lockstep.coordinator.http.Responses.exactBody;
import static dev.lockstep.coordinator.http.Responses.reply;

import dev.lockstep.coordinator.baseline.Baselines;
import dev.lockstep.protocol.BaselineRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code POST /v1/baseline}: {@code {"schema": "2", "dryRun": true}} answers what is there and what a
 * baseline at 2 would mean; {@code "dryRun": false} records it ({@link Baselines}). Operator token; the
 * audit names the token ({@code requestedBy}: its name, see {@link Caller}) and the caller's address. Unknown fields are refused, so a
 * misspelt {@code dryRun} cannot record a baseline.
 */
final class BaselineRoutes {
  static final String PATH = "/v1/baseline";

  private final Baselines baselines;
  private final HealthRoutes health;
  private final Auth auth;

  BaselineRoutes(Baselines baselines, HealthRoutes health, Auth auth) {
    this.baselines = baselines;
    this.health = health;
    this.auth = auth;
  }

  void mount(Router router) {
    // Recording one takes the service's Redis lock, as a release does.
    router.post(PATH).handler(health.refuseWhileDown(true)).handler(auth.require(Role.OPERATOR)).handler(this::baseline);
  }

  private void baseline(RoutingContext ctx) {
    BaselineRequest request = exactBody(ctx, BaselineRequest.class, "so a misspelt dryRun cannot record a baseline");
    if (request.service() != null && !request.service().isEmpty()) {
      Names.service("field 'service' of BaselineRequest", request.service());
    }
    Caller caller = Caller.of(ctx);
    reply(ctx, 200, baselines.baseline(request, caller.name(), caller.address()));
  }
}
