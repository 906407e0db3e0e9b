package dev.lockstep.coordinator.http;

import dev.lockstep.protocol.ErrorBody;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import dev.lockstep.protocol.Json;
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
  /** The request line (method, path and query) may be this long: Vert.x's default. */
  public static final int MAX_REQUEST_LINE_BYTES = HttpServerOptions.DEFAULT_MAX_INITIAL_LINE_LENGTH;
  /** All header lines of a request together may be this large: Vert.x's default, and room for any token. */
  public static final int MAX_HEADER_BYTES = HttpServerOptions.DEFAULT_MAX_HEADER_SIZE;

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
      // The request line and headers are held to the API's limits, whatever TLS options the caller set. HTTP/1.1
      // only in cleartext: Vert.x's default h2c upgrade would let a client (the JDK's HttpClient asks for it) past
      // those limits, which are HTTP/1's. HTTP/2 is not offered over TLS either; were it, its settings carry the
      // same header limit.
      options.setMaxInitialLineLength(MAX_REQUEST_LINE_BYTES).setMaxHeaderSize(MAX_HEADER_BYTES)
          .setHttp2ClearTextEnabled(false);
      options.getInitialSettings().setMaxHeaderListSize(MAX_HEADER_BYTES);
      context.owner().createHttpServer(options).requestHandler(request -> api.handler.handle(request))
          .invalidRequestHandler(ApiServer::invalid).listen()
          .map(s -> {
            api.server = s;
            return api;
          })
          .onComplete(listening);
    });
    return listening.future();
  }

  /**
   * A request Netty could not decode never reaches the router: Vert.x would answer a line or headers over
   * the limit with an empty 414 or 431. These get the API's JSON error naming the limit instead; anything
   * else undecodable gets Vert.x's own answer (a 400, or the connection closed).
   */
  static void invalid(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    int status;
    String detail;
    if (cause instanceof TooLongHttpLineException) {
      status = 414;
      detail = "request line (method, path and query) longer than " + MAX_REQUEST_LINE_BYTES + " bytes, the limit; shorten it";
    } else if (cause instanceof TooLongHttpHeaderException) {
      status = 431;
      detail = "request headers larger than " + MAX_HEADER_BYTES + " bytes together, the limit; send fewer or shorter headers";
    } else {
      HttpServerRequest.DEFAULT_INVALID_REQUEST_HANDLER.handle(request);
      return;
    }
    // The rest of the request cannot be read any more: the connection closes after the answer.
    request.response().setStatusCode(status).putHeader("Content-Type", "application/json").putHeader("Connection", "close")
        .end(Json.write(new ErrorBody("too_large", detail)));
  }

  /** From now on {@code api} answers every request. */
  public void serve(Router api) {
    handler = api;
  }

  public HttpServer server() {
    return server;
  }
}
