package dev.lockstep.coordinator.http;

import dev.lockstep.protocol.ErrorBody;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import io.vertx.core.Future;
import io.vertx.core.Handler;
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
 * ApiServer http = ApiServer.listen(vertx, 2, new HttpServerOptions().setPort(7070), health).await();
 * // … connect the stores, build the services …
 * http.serve(HttpApi.router(…));
 * }</pre>
 */
public final class ApiServer {
  /** The request line (method, path and query) may be this long: Vert.x's default. */
  public static final int MAX_REQUEST_LINE_BYTES = HttpServerOptions.DEFAULT_MAX_INITIAL_LINE_LENGTH;
  /** All header lines of a request together may be this large: Vert.x's default, and room for any token. */
  public static final int MAX_HEADER_BYTES = HttpServerOptions.DEFAULT_MAX_HEADER_SIZE;
  /**
   * Vert.x's strict thread mode: a connection writes its responses directly instead of through a queue that any thread
   * may feed. That queue is an object array of 1,024 slots per connection (Netty's MPSC chunk), 4 KB each: 43 MB of a
   * 5,000-agent coordinator's live heap of about 120 MB, its two connections per agent. The price is a rule: a response
   * is written only from its connection's event loop, which the handlers keep (docs/architecture.md, "Event loops").
   * {@code -Dlockstep.coordinator.strictThreads=false} turns the queue back on, for comparing.
   */
  static final boolean STRICT_THREADS = Boolean.parseBoolean(System.getProperty("lockstep.coordinator.strictThreads", "true"));

  private volatile Handler<HttpServerRequest> handler;
  private final List<HttpServer> servers = new CopyOnWriteArrayList<>();

  private ApiServer(Handler<HttpServerRequest> handler) {
    this.handler = handler;
  }

  /**
   * Listens with {@code options} (port, host, and TLS when the coordinator serves HTTPS) on {@code loops} event loops:
   * one HTTP server per loop, all on the one port (Vert.x hands each new connection to the next), every one handing its
   * requests to the same router.
   */
  public static Future<ApiServer> listen(Vertx vertx, int loops, HttpServerOptions options, HealthRoutes health) {
    if (loops < 1) {
      throw new IllegalArgumentException("an API server needs at least one event loop (got " + loops + ")");
    }
    Router starting = Router.router(vertx);
    health.mount(starting);
    starting.route().handler(ctx -> Responses.json(ctx, 503,
        new ErrorBody("unavailable", "the coordinator is starting: " + health.notReadyReason() + "; retry shortly")));
    ApiServer api = new ApiServer(starting);
    // The request line and headers are held to the API's limits, whatever TLS options the caller set. HTTP/1.1
    // only in cleartext: Vert.x's default h2c upgrade would let a client (the JDK's HttpClient asks for it) past
    // those limits, which are HTTP/1's. HTTP/2 is not offered over TLS either; were it, its settings carry the
    // same header limit.
    options.setMaxInitialLineLength(MAX_REQUEST_LINE_BYTES).setMaxHeaderSize(MAX_HEADER_BYTES)
        .setHttp2ClearTextEnabled(false).setStrictThreadMode(STRICT_THREADS);
    options.getInitialSettings().setMaxHeaderListSize(MAX_HEADER_BYTES);
    // Port 0 would give each loop a port of its own; Vert.x shares one random port among servers asking for -1.
    HttpServerOptions shared = options.getPort() == 0 ? new HttpServerOptions(options).setPort(-1) : options;
    return vertx.deployVerticle(() -> new Loop(api, shared), new DeploymentOptions().setInstances(loops)).map(api);
  }

  /** One event loop's HTTP server. */
  private static final class Loop extends VerticleBase {
    private final ApiServer api;
    private final HttpServerOptions options;

    Loop(ApiServer api, HttpServerOptions options) {
      this.api = api;
      this.options = options;
    }

    @Override
    public Future<?> start() {
      return vertx.createHttpServer(options).requestHandler(request -> api.handler.handle(request))
          .invalidRequestHandler(ApiServer::invalid).listen()
          .onSuccess(api.servers::add);
    }
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

  /** The first loop's server: its port is every loop's. */
  public HttpServer server() {
    return servers.get(0);
  }

  /** Every loop's server (a renewed certificate goes to each; shutdown closes each). */
  public List<HttpServer> servers() {
    return List.copyOf(servers);
  }
}
