package dev.lockstep.coordinator.http;

import dev.lockstep.protocol.ErrorBody;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;

/**
 * The coordinator's HTTP server, listening from the first moment of start-up. Until
 * {@link #serve(Router)} hands it the whole API it answers {@code /health} and {@code /ready} and
 * refuses every other request with 503 {@code unavailable} saying what start-up waits for, so a
 * load balancer, an agent or the CLI sees a coordinator that is starting rather than a closed port.
 *
 * <pre>{@code
 * ApiServer http = ApiServer.listen(context, new HttpServerOptions().setPort(7070), health).await();
 * // … connect the stores, build the services …
 * http.serve(HttpApi.router(…));
 * }</pre>
 */
public final class ApiServer {
  private volatile Handler<HttpServerRequest> handler;
  private HttpServer server;

  private ApiServer(Handler<HttpServerRequest> handler) {
    this.handler = handler;
  }

  /**
   * Listens with {@code options} (port, host, and TLS when the coordinator serves HTTPS); every request is
   * handled on {@code context}, as the routes expect.
   */
  public static Future<ApiServer> listen(Context context, HttpServerOptions options, HealthRoutes health) {
    Promise<ApiServer> listening = Promise.promise();
    context.runOnContext(v -> {
      Router starting = Router.router(context.owner());
      health.mount(starting);
      starting.route().handler(ctx -> Responses.json(ctx, 503,
          new ErrorBody("unavailable", "the coordinator is starting: " + health.notReadyReason() + "; retry shortly")));
      ApiServer api = new ApiServer(starting);
      context.owner().createHttpServer(options).requestHandler(request -> api.handler.handle(request)).listen()
          .map(s -> {
            api.server = s;
            return api;
          })
          .onComplete(listening);
    });
    return listening.future();
  }

  /** From now on {@code api} answers every request. */
  public void serve(Router api) {
    handler = api;
  }

  public HttpServer server() {
    return server;
  }
}
