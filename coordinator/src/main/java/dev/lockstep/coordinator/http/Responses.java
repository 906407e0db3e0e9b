package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.error.LockstepException;
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

  /** The body as a {@code type}, read strictly ({@link JsonBody}); an empty body is a 400. */
  static <T> T body(RoutingContext ctx, Class<T> type) {
    return JsonBody.read(required(ctx, type), type);
  }

  /** As {@link #body}, and unknown fields are refused ({@link JsonBody#readExact}): {@code why} ends the message. */
  static <T> T exactBody(RoutingContext ctx, Class<T> type, String why) {
    return JsonBody.readExact(required(ctx, type), type, why);
  }

  private static byte[] required(RoutingContext ctx, Class<?> type) {
    byte[] bytes = bytes(ctx);
    if (isBlank(bytes)) {
      throw LockstepException.badRequest("request body is empty; send a JSON object (" + type.getSimpleName() + ")");
    }
    return bytes;
  }

  /** As {@link #body}, but an empty body means {@code fallback}. */
  static <T> T optionalBody(RoutingContext ctx, Class<T> type, T fallback) {
    byte[] bytes = bytes(ctx);
    return isBlank(bytes) ? fallback : JsonBody.read(bytes, type);
  }

  /** A whole-number query parameter in {@code [min, max]}, or {@code fallback} when absent. */
  static long longParam(RoutingContext ctx, String name, long fallback, long min, long max) {
    String value = ctx.request().getParam(name);
    if (value == null || value.isBlank()) {
      return fallback;
    }
    long n;
    try {
      n = Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      throw LockstepException.badRequest("query parameter " + name + " must be a whole number from " + min + " to " + max
          + " (got '" + Names.printable(value) + "')");
    }
    if (n < min || n > max) {
      throw LockstepException.badRequest("query parameter " + name + " must be from " + min + " to " + max + " (got " + n + ")");
    }
    return n;
  }

  /** An optional service name from the query string; blank counts as absent. */
  static String serviceParam(RoutingContext ctx) {
    String value = ctx.request().getParam("service");
    return value == null || value.isEmpty() ? null : Names.service("query parameter service", value);
  }

  private static byte[] bytes(RoutingContext ctx) {
    return ctx.body() == null || ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
  }

  private static boolean isBlank(byte[] bytes) {
    for (byte b : bytes) {
      if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
        return false;
      }
    }
    return true;
  }
}
