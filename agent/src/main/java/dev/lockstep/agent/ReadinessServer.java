package dev.lockstep.agent;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import java.util.function.Supplier;

/**
 * Readiness mode's HTTP side, for the platform's probes (the kubelet, a load balancer's health check): {@code GET /ready}
 * answers 200 when this instance should take traffic and 503 otherwise, both with {@code {"ready", "reason",
 * "revision", "releaseId"}}; {@code GET /live} answers 200 while the agent runs. Nothing else, no token: what it says is
 * what the load balancer acts on anyway, and it says nothing secret.
 *
 * <pre>{@code
 * ReadinessServer server = ReadinessServer.listen(vertx, 8081, agent::answer).await();
 * ...
 * server.close();
 * }</pre>
 */
public final class ReadinessServer {

  /** What {@code GET /ready} says: the decision, and what it is about. */
  public record Answer(Readiness readiness, String revision, String releaseId) {
    JsonObject json() {
      return new JsonObject().put("ready", readiness.ready()).put("reason", readiness.reason()).put("revision", revision)
          .put("releaseId", releaseId);
    }
  }

  private final HttpServer server;

  private ReadinessServer(HttpServer server) {
    this.server = server;
  }

  /**
   * Listens on {@code port} of every address (a probe comes to the pod's address) and answers from {@code answer},
   * called on the event loop for every probe.
   */
  public static Future<ReadinessServer> listen(Vertx vertx, int port, Supplier<Answer> answer) {
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setPort(port).setHost("0.0.0.0"));
    server.requestHandler(request -> handle(request, answer));
    return server.listen().map(ReadinessServer::new).recover(e -> Future.failedFuture(new IllegalStateException(
        "cannot serve the readiness probe on port " + port + " (" + e.getMessage() + "); free the port or give another"
            + " --readiness-port", e)));
  }

  /** The port it listens on (the one asked for, or the one picked for 0). */
  public int port() {
    return server.actualPort();
  }

  public Future<Void> close() {
    return server.close();
  }

  private static void handle(HttpServerRequest request, Supplier<Answer> answer) {
    boolean read = request.method() == HttpMethod.GET || request.method() == HttpMethod.HEAD;
    switch (request.path()) {
      case "/ready" -> {
        if (!read) {
          reply(request, 405, new JsonObject().put("error", "method not allowed").put("detail", "use GET /ready"));
          return;
        }
        Answer now = answer.get();
        reply(request, now.readiness().ready() ? 200 : 503, now.json());
      }
      case "/live" -> reply(request, read ? 200 : 405, read ? new JsonObject().put("live", true)
          : new JsonObject().put("error", "method not allowed").put("detail", "use GET /live"));
      default -> reply(request, 404, new JsonObject().put("error", "not found")
          .put("detail", "the agent's readiness port serves GET /ready and GET /live only"));
    }
  }

  private static void reply(HttpServerRequest request, int status, JsonObject body) {
    request.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store").end(body.encode());
  }
}
