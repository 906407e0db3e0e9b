package dev.lockstep.agent;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationSetUpload;
import dev.lockstep.protocol.ReportReceipt;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's side of the two coordinator endpoints, over one or more coordinator instances. Any connection
 * failure, timeout or 5xx moves it to the next URL (round robin); callers retry with a backoff. It logs an
 * outage once when it starts and once when it ends, and each distinct refusal (4xx) once, never once per try.
 * Use it from one Vert.x context only.
 *
 * <p>It runs at most one blocking query at a time and keeps a handle on it. When another request to the
 * query's coordinator fails (which is what moves the client to the next URL), a query still waiting for its
 * response headers is abandoned at once: its HTTP request is reset, which closes its connection, and it is
 * re-issued to the new current coordinator. So a coordinator that is paused (SIGSTOP: connections stay open,
 * nothing answers) holds the agent's view of the desired state only until a report to it times out, not for
 * the blocking query's own {@code wait} + 10 s.
 *
 * <pre>{@code
 * CoordinatorClient client = new CoordinatorClient(vertx, urls, token, Clock.systemUTC());
 * client.report(report);                                        // PUT /v1/agents/{id}
 * client.desired("app", 0, Duration.ofSeconds(30));             // GET /v1/services/app/desired?index=0&wait=30s
 * }</pre>
 */
public final class CoordinatorClient {
  /** Connections to one coordinator: the blocking query's and the reports'. */
  static final int MAX_CONNECTIONS = 2;

  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorClient.class);
  /**
   * A report is tiny; a coordinator that cannot take it in this time is paused or overloaded, and
   * the agent must move to the next one well before the coordinator's liveness timeout calls it lost.
   */
  private static final long REPORT_TIMEOUT_MS = 4_000;
  /** The coordinator holds a blocking query for {@code wait}; allow it that long and a margin for the answer. */
  private static final long POLL_MARGIN_MS = 10_000;
  private static final String USER_AGENT = "lockstep-agent";
  /** A migration set is up to 8 MiB (the coordinator's limit): time to send it on a slow link. */
  private static final long UPLOAD_TIMEOUT_MS = 60_000;
  private static final ReportReceipt NOTHING_ASKED = new ReportReceipt(null);

  private final HttpClientAgent http;
  private final WebClient web;
  private final List<String> bases;
  private final String token;
  private final Clock clock;
  private int current;
  private Instant outageSince;
  private boolean everReached;
  private boolean closed;
  /** The blocking query in flight, if any; there is never more than one. */
  private BlockingQuery inFlight;
  /** The last refusal logged per endpoint, so the same 401 every two seconds is logged once. */
  private final Map<String, String> refusals = new HashMap<>();

  public CoordinatorClient(Vertx vertx, List<URI> coordinators, String token, Clock clock) {
    this(vertx, coordinators, token, clock, ClientTls.NONE);
  }

  /** As above, with {@code tls} for {@code https://} coordinators (the CA to trust, a client certificate). */
  public CoordinatorClient(Vertx vertx, List<URI> coordinators, String token, Clock clock, ClientTls tls) {
    // One connection pool for both: blocking queries go through the core client, which can reset a request.
    // An https:// URL turns TLS on per request; host names are verified against the coordinator's certificate.
    // At most two connections to each coordinator: the blocking query holds one, reports (and the rare set upload)
    // take turns on the other. The default pool of five let a fleet that restarted at once open a third and fourth
    // while the first answers were slow, some 15,000 connections for 5,000 agents, each a few KB of the coordinator's
    // heap (docs/benchmarks.md).
    this.http = vertx.createHttpClient(tls.applyTo(new HttpClientOptions().setConnectTimeout(3_000).setKeepAlive(true)
        .setVerifyHost(true)), new PoolOptions().setHttp1MaxSize(MAX_CONNECTIONS));
    this.web = WebClient.wrap(http, new WebClientOptions().setUserAgent(USER_AGENT));
    this.bases = coordinators.stream().map(CoordinatorClient::base).toList();
    this.token = Objects.requireNonNull(token, "token");
    this.clock = clock;
  }

  /**
   * {@code PUT /v1/agents/{id}}; any 2xx is success. The answer may ask for the agent's migration set
   * ({@link ReportReceipt#sendMigrations}); an answer that says nothing readable asks nothing.
   */
  public Future<ReportReceipt> report(AgentReport report) {
    String path = "/v1/agents/" + segment(report.id());
    return send("report", HttpMethod.PUT, path, REPORT_TIMEOUT_MS, Buffer.buffer(Json.write(report)))
        .map(answer -> receipt(answer.body()));
  }

  /**
   * {@code DELETE /v1/agents/{id}?service=S} with the agent's own token: an ephemeral agent leaving for good. Tries
   * the current coordinator and, on no answer, the next, within {@value #REPORT_TIMEOUT_MS} ms each.
   */
  public Future<Void> leave(String service, String id) {
    String path = "/v1/agents/" + segment(id) + "?service=" + segment(service);
    return send("leave", HttpMethod.DELETE, path, REPORT_TIMEOUT_MS, null)
        .recover(e -> e instanceof CoordinatorException c && c.kind() == CoordinatorException.Kind.UNREACHABLE
            && bases.size() > 1 ? send("leave", HttpMethod.DELETE, path, REPORT_TIMEOUT_MS, null) : Future.failedFuture(e))
        .mapEmpty();
  }

  /** {@code PUT /v1/services/{service}/migration-sets/{digest}}: the set the coordinator asked this agent for. */
  public Future<Void> uploadSet(String service, String digest, MigrationSetUpload upload) {
    String path = "/v1/services/" + segment(service) + "/migration-sets/" + segment(digest);
    return send("migration set upload", HttpMethod.PUT, path, UPLOAD_TIMEOUT_MS, Buffer.buffer(Json.write(upload)))
        .mapEmpty();
  }

  private static ReportReceipt receipt(String body) {
    if (body == null || body.isBlank()) {
      return NOTHING_ASKED;
    }
    try {
      ReportReceipt receipt = Json.read(body, ReportReceipt.class);
      return receipt == null ? NOTHING_ASKED : receipt;
    } catch (IllegalArgumentException e) {
      return NOTHING_ASKED;
    }
  }

  /**
   * {@code GET /v1/services/{service}/desired?index=N&wait=…}: answered at once when the coordinator's index
   * differs from {@code index}, otherwise after up to {@code wait} with the unchanged state. One at a time: the
   * future fails with {@link IllegalStateException} while another is in flight. If the client moves to another
   * coordinator meanwhile, the query is re-issued there and the future completes with that coordinator's answer.
   */
  public Future<DesiredState> desired(String service, long index, Duration wait) {
    return desired(service, null, index, wait);
  }

  /**
   * As above, naming the asking agent ({@code &agent=ID}): with a token of the whole service, the coordinator counts the
   * query against that agent, not against every pod that holds the token.
   */
  public Future<DesiredState> desired(String service, String agentId, long index, Duration wait) {
    if (inFlight != null) {
      return Future.failedFuture(new IllegalStateException("a blocking query to " + bases.get(inFlight.used)
          + " is still in flight; the agent runs one at a time"));
    }
    String path = "/v1/services/" + segment(service) + "/desired?index=" + index + "&wait=" + Durations.exact(wait)
        + (agentId == null ? "" : "&agent=" + segment(agentId));
    long timeoutMs = wait.toMillis() + POLL_MARGIN_MS;
    return hold(path, timeoutMs).compose(answer -> {
      try {
        DesiredState desired = Json.read(answer.body(), DesiredState.class);
        if (desired == null) {
          throw new IllegalArgumentException("empty body");
        }
        return Future.succeededFuture(desired);
      } catch (IllegalArgumentException e) {
        return Future.failedFuture(refused("desired", answer.base(),
            "answered with something that is not a desired state: " + e.getMessage()));
      }
    });
  }

  /** The coordinator URL requests go to now. */
  public String currentCoordinator() {
    return bases.get(current);
  }

  /** Closes connections; requests still in flight fail quietly. */
  public void close() {
    closed = true;
    if (inFlight != null) {
      inFlight.abandon("the client is closing");
    }
    web.close();
  }

  private Future<Answer> send(String endpoint, HttpMethod method, String path, long timeoutMs, Buffer body) {
    int used = current;
    HttpRequest<Buffer> request = web.requestAbs(method, bases.get(used) + path)
        .bearerTokenAuthentication(token)
        .putHeader("Accept", "application/json")
        .timeout(timeoutMs);
    Future<HttpResponse<Buffer>> sent = body == null
        ? request.send()
        : request.putHeader("Content-Type", "application/json").sendBuffer(body);
    return sent.map(response -> new Answer(bases.get(used), response.statusCode(), response.bodyAsString()))
        .transform(ar -> outcome(endpoint, used, ar));
  }

  /**
   * Sends a blocking query to the current coordinator and follows it across moves: when it is abandoned because
   * the client moved to another URL, it is sent there at once. That is no spin: each abandonment answers a
   * failure of another request, and those are paced by the report interval and timeout. Abandoned on the only URL
   * there is, it fails, and the caller backs off as for any other failure.
   */
  private Future<Answer> hold(String path, long timeoutMs) {
    BlockingQuery query = new BlockingQuery(current);
    inFlight = query;
    query.send(path, timeoutMs);
    return query.outcome.future().transform(ar -> {
      if (inFlight == query) {
        inFlight = null;
      }
      if (query.abandonedBecause == null) {
        return outcome("desired", query.used, ar);
      }
      if (closed) {
        return Future.failedFuture(new CoordinatorException(CoordinatorException.Kind.UNREACHABLE, "client closed"));
      }
      if (current != query.used) {
        return hold(path, timeoutMs);
      }
      // The failure that abandoned it was already counted (and logged) against this URL by unreachable().
      return Future.failedFuture(new CoordinatorException(CoordinatorException.Kind.UNREACHABLE,
          bases.get(query.used) + ": blocking query abandoned: " + query.abandonedBecause));
    });
  }

  /** What a request came to: success, a refusal (4xx) or "unreachable" (no answer, 5xx), which moves on. */
  private Future<Answer> outcome(String endpoint, int used, AsyncResult<Answer> ar) {
    String base = bases.get(used);
    if (ar.failed()) {
      if (closed) {
        return Future.failedFuture(new CoordinatorException(CoordinatorException.Kind.UNREACHABLE, "client closed"));
      }
      return Future.failedFuture(unreachable(endpoint, used, describe(ar.cause()), true));
    }
    Answer answer = ar.result();
    int status = answer.status();
    if (status >= 500) {
      return Future.failedFuture(unreachable(endpoint, used, "answered " + status + errorText(answer.body()), false));
    }
    reached(base);
    if (status >= 200 && status < 300) {
      if (refusals.remove(endpoint) != null) {
        LOG.info("coordinator {} accepts the agent's {} requests again", base, endpoint);
      }
      return Future.succeededFuture(answer);
    }
    return Future.failedFuture(refused(endpoint, base, "answered " + status + errorText(answer.body())));
  }

  /**
   * Records a failed attempt on {@code bases[used]} and moves on; logs only the first failure of an outage.
   *
   * <p>It also abandons the blocking query in flight to that same URL if it has had no response headers yet,
   * and either the client moved away from the URL or the failure got no HTTP answer at all ({@code silent}).
   * Silence alone says nothing about a blocking query: a healthy coordinator holds it without sending a byte
   * for up to {@code wait}, so no deadline shorter than that tells a paused coordinator from a quiet one.
   * Silence while another request to the same URL fails does: a report is tiny and a live coordinator answers
   * it at once, so when one times out or cannot connect, the query's silence is the same outage, however
   * recently the query was sent. With several URLs the client has just moved away, and a query left on the old
   * URL would see the new coordinator's desired state only after its own {@code wait} + 10 s; it goes to the new
   * URL at once. With one URL it is re-sent after the caller's backoff, on a fresh connection, unless the
   * failure was a 5xx: a coordinator that answers is running and will answer the query it holds too. A query
   * whose headers have arrived is being answered and is left to finish.
   */
  private CoordinatorException unreachable(String endpoint, int used, String reason, boolean silent) {
    String failed = bases.get(used);
    if (current == used) {
      // Two requests failing on the same URL must move on once, not skip the next one.
      current = (used + 1) % bases.size();
    }
    boolean outageStarts = outageSince == null;
    if (outageStarts) {
      outageSince = clock.instant();
      String next = bases.size() > 1 ? "; trying " + bases.get(current) + " next" : "";
      LOG.warn("cannot reach coordinator {} ({}){}; retrying until a coordinator answers", failed, reason, next);
    }
    BlockingQuery query = inFlight;
    if (query != null && query.used == used && (current != used || silent)
        && query.abandon("its " + endpoint + " request failed (" + reason + ")")) {
      String where = current == used ? "re-sending it after the retry delay" : "asking " + bases.get(current);
      if (outageStarts) {
        LOG.info("gave up the blocking query held by {}: the {} request to it failed; {}", failed, endpoint, where);
      } else {
        LOG.debug("gave up the blocking query held by {}: the {} request to it failed; {}", failed, endpoint, where);
      }
    }
    return new CoordinatorException(CoordinatorException.Kind.UNREACHABLE, failed + ": " + reason);
  }

  private void reached(String base) {
    if (outageSince != null) {
      Duration down = Duration.between(outageSince, clock.instant());
      LOG.info("{} coordinator {} after {}", everReached ? "connection restored:" : "connected to",
          base, Durations.format(down));
      outageSince = null;
    } else if (!everReached) {
      LOG.info("connected to coordinator {}", base);
    }
    everReached = true;
  }

  private CoordinatorException refused(String endpoint, String base, String reason) {
    String message = "coordinator " + base + " refused the agent's " + endpoint + " request: " + reason;
    if (!message.equals(refusals.put(endpoint, message))) {
      LOG.error(message);
    }
    return new CoordinatorException(CoordinatorException.Kind.REJECTED, message);
  }

  /** The coordinator's {@code {"error","detail"}} when it sent one, else the start of the body. */
  private static String errorText(String body) {
    if (body == null || body.isBlank()) {
      return "";
    }
    try {
      ErrorBody error = Json.read(body, ErrorBody.class);
      if (error.error() != null || error.detail() != null) {
        return ": " + error.error() + (error.detail() == null ? "" : " (" + error.detail() + ")");
      }
    } catch (IllegalArgumentException e) {
      // Not JSON: show what it was.
    }
    String text = body.strip();
    return ": " + (text.length() > 200 ? text.substring(0, 200) + "…" : text);
  }

  private static String describe(Throwable failure) {
    String message = failure.getMessage();
    return message == null || message.isBlank() ? failure.getClass().getSimpleName() : message;
  }

  private static String base(URI uri) {
    String text = uri.toString();
    return text.endsWith("/") ? text.substring(0, text.length() - 1) : text;
  }

  private static String segment(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** A response as far as the agent cares: who answered, the status, and the body as text (may be null). */
  private record Answer(String base, int status, String body) {}

  /**
   * One blocking query: the URL it went to, its HTTP request once a connection was obtained, and whether the
   * response has begun. {@link #abandon} fails its outcome and resets the request, closing its connection.
   */
  private final class BlockingQuery {
    final int used;
    final Promise<Answer> outcome = Promise.promise();
    private HttpClientRequest request;
    private boolean answering;
    String abandonedBecause;

    BlockingQuery(int used) {
      this.used = used;
    }

    void send(String path, long timeoutMs) {
      String base = bases.get(used);
      RequestOptions options = new RequestOptions()
          .setMethod(HttpMethod.GET)
          .setAbsoluteURI(base + path)
          .setTimeout(timeoutMs)
          .putHeader(HttpHeaders.AUTHORIZATION, "Bearer " + token)
          .putHeader(HttpHeaders.ACCEPT, "application/json")
          .putHeader(HttpHeaders.USER_AGENT, USER_AGENT);
      http.request(options).compose(sending -> {
        if (abandonedBecause != null) {
          // Abandoned while connecting: this request is no longer wanted.
          sending.reset();
          return Future.failedFuture("abandoned");
        }
        request = sending;
        return sending.send();
      }).compose(response -> {
        answering = true;
        return response.body().map(body -> {
          if (LOG.isDebugEnabled()) {
            // With a microsecond wall clock: where a switch's skew goes (docs/benchmarks.md, twelve real agents).
            LOG.debug("blocking query answered {} ({} bytes) at {}", response.statusCode(), body.length(), Instant.now());
          }
          return new Answer(base, response.statusCode(), body.toString());
        });
      }).onComplete(ar -> {
        if (ar.succeeded()) {
          outcome.tryComplete(ar.result());
        } else {
          outcome.tryFail(ar.cause());
        }
      });
    }

    /** Gives the query up unless it already completed or its response has begun; true if it did. */
    boolean abandon(String reason) {
      if (answering || outcome.future().isComplete()) {
        return false;
      }
      // Before failing the outcome: its listeners may run at once and must see why.
      abandonedBecause = reason;
      if (request != null) {
        request.reset();
      }
      outcome.tryFail(new CoordinatorException(CoordinatorException.Kind.UNREACHABLE, reason));
      return true;
    }
  }
}
