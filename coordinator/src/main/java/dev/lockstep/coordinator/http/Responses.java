package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.protocol.Json;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;

/** Small helpers shared by the route classes: JSON out, JSON in, failures to the one failure path. */
final class Responses {
  private Responses() {}

  static void json(RoutingContext ctx, int status, Object body) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(Json.write(body));
  }

  static <T> void reply(RoutingContext ctx, int status, Future<T> result) {
    result.onSuccess(body -> json(ctx, status, body)).onFailure(ctx::fail);
  }

  static <T> T body(RoutingContext ctx, Class<T> type) {
    String text = ctx.body() == null ? null : ctx.body().asString();
    if (text == null || text.isBlank()) {
      throw LockstepException.badRequest("request body is empty; send a JSON " + type.getSimpleName());
    }
    return Json.read(text, type);
  }

  static long longParam(RoutingContext ctx, String name, long fallback) {
    String value = ctx.request().getParam(name);
    if (value == null || value.isBlank()) {
      return fallback;
    }
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      throw LockstepException.badRequest("query parameter " + name + " must be a whole number (got '" + value + "')");
    }
  }
}
