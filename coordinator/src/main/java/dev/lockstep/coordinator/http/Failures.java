package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.set.SetUpload;
import dev.lockstep.coordinator.store.Outages;
import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.HttpException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one failure path: maps every error to a status and a JSON {@code {"error","detail"}} body.
 * Caller mistakes are 4xx and logged at WARN; a 500 is always a bug and logged at ERROR with its
 * stack.
 */
public final class Failures implements Handler<RoutingContext> {
  private static final Logger log = LoggerFactory.getLogger(Failures.class);

  @Override
  public void handle(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    String unavailable = Outages.storeOf(failure);
    int status;
    String error;
    String detail;
    if (failure instanceof LockstepException e) {
      status = e.code().status();
      error = e.code().wire();
      detail = e.getMessage();
    } else if (unavailable != null) {
      // Redis or PostgreSQL out of reach is the service's state, not a bug: 503, so agents and scripts retry.
      status = 503;
      error = "unavailable";
      detail = unavailable + " is unavailable (" + failure.getMessage() + "); retry shortly";
    } else if (failure instanceof HttpException e) {
      status = e.getStatusCode();
      error = statusError(status);
      detail = e.getPayload() != null ? e.getPayload() : statusDetail(ctx, status);
    } else if (failure == null) {
      status = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
      error = statusError(status);
      detail = statusDetail(ctx, status);
    } else {
      status = 500;
      error = "internal";
      detail = "internal error (" + failure.getClass().getSimpleName() + "): " + failure.getMessage();
    }
    if (status == 503) {
      // A store out of reach or a coordinator stopping is the service's state, not a bug: one line, no stack.
      log.warn("{} {} -> {}: {}", ctx.request().method(), ctx.request().path(), status, detail);
    } else if (status >= 500) {
      log.error("{} {} -> {}: {}", ctx.request().method(), ctx.request().path(), status, detail, failure);
    } else {
      log.warn("{} {} -> {}: {}", ctx.request().method(), ctx.request().path(), status, detail);
    }
    if (ctx.response().headWritten()) {
      ctx.response().end();
      return;
    }
    if (failure instanceof LockstepException e && e.retryAfter() != null) {
      // Whole seconds, rounded up: a client that waits exactly this long finds the budget refilled.
      long seconds = Math.max(1, (e.retryAfter().toMillis() + 999) / 1000);
      ctx.response().putHeader("Retry-After", Long.toString(seconds));
    }
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .end(Json.write(new ErrorBody(error, detail)));
  }

  private static String statusError(int status) {
    return switch (status) {
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 413 -> "too_large";
      default -> "http_" + status;
    };
  }

  private static String statusDetail(RoutingContext ctx, int status) {
    return switch (status) {
      case 404 -> "no such path: " + ctx.request().path();
      case 405 -> ctx.request().method() + " is not allowed on " + ctx.request().path();
      case 413 -> HttpApi.carriesSet(ctx.request().method().name(), ctx.request().path())
          ? "request body too large (limit " + (SetUpload.Limits.DEFAULT.bodyBytes() >> 20) + " MiB for a request that carries"
              + " a migration set; the set itself may hold " + (SetUpload.Limits.DEFAULT.maxBytes() >> 20) + " MiB and "
              + SetUpload.Limits.DEFAULT.maxFiles() + " files)"
          : "request body too large (limit 1 MiB)";
      default -> "request refused";
    };
  }
}
