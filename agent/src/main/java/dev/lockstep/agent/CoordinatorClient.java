package dev.lockstep.agent;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
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
 * <pre>{@code
 * CoordinatorClient client = new CoordinatorClient(vertx, urls, token, Clock.systemUTC());
 * client.report(report);                                        // PUT /v1/agents/{id}
 * client.desired("app", 0, Duration.ofSeconds(30));             // GET /v1/services/app/desired?index=0&wait=30s
 * }</pre>
 */
public final class CoordinatorClient {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorClient.class);
  /**
   * A report is tiny; a coordinator that cannot take it in this time is paused or overloaded, and
   * the agent must move to the next one well before the coordinator's liveness timeout calls it lost.
   */
  private static final long REPORT_TIMEOUT_MS = 4_000;
  /** The coordinator holds a blocking query for {@code wait}; allow it that long and a margin for the answer. */
  private static final long POLL_MARGIN_MS = 10_000;

  private final WebClient web;
  private final List<String> bases;
  private final String token;
  private final Clock clock;
  private int current;
  private Instant outageSince;
  private boolean everReached;
  private boolean closed;
  /** The last refusal logged per endpoint, so the same 401 every two seconds is logged once. */
  private final Map<String, String> refusals = new HashMap<>();

  public CoordinatorClient(Vertx vertx, List<URI> coordinators, String token, Clock clock) {
    this.web = WebClient.create(vertx, new WebClientOptions()
        .setUserAgent("lockstep-agent")
        .setConnectTimeout(3_000)
        .setKeepAlive(true));
    this.bases = coordinators.stream().map(CoordinatorClient::base).toList();
    this.token = Objects.requireNonNull(token, "token");
    this.clock = clock;
  }

  /** {@code PUT /v1/agents/{id}}; any 2xx is success and its body is ignored. */
  public Future<Void> report(AgentReport report) {
    String path = "/v1/agents/" + segment(report.id());
    return send("report", HttpMethod.PUT, path, REPORT_TIMEOUT_MS, Buffer.buffer(Json.write(report)))
        .mapEmpty();
  }

  /**
   * {@code GET /v1/services/{service}/desired?index=N&wait=…}: answered at once when the coordinator's index
   * differs from {@code index}, otherwise after up to {@code wait} with the unchanged state.
   */
  public Future<DesiredState> desired(String service, long index, Duration wait) {
    String path = "/v1/services/" + segment(service) + "/desired?index=" + index + "&wait=" + Durations.format(wait);
    return send("desired", HttpMethod.GET, path, wait.toMillis() + POLL_MARGIN_MS, null)
        .compose(response -> {
          try {
            DesiredState desired = Json.read(response.bodyAsString(), DesiredState.class);
            if (desired == null) {
              throw new IllegalArgumentException("empty body");
            }
            return Future.succeededFuture(desired);
          } catch (IllegalArgumentException e) {
            return Future.failedFuture(refused("desired", bases.get(current),
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
    web.close();
  }

  private Future<HttpResponse<Buffer>> send(String endpoint, HttpMethod method, String path, long timeoutMs,
      Buffer body) {
    int used = current;
    String base = bases.get(used);
    HttpRequest<Buffer> request = web.requestAbs(method, base + path)
        .bearerTokenAuthentication(token)
        .putHeader("Accept", "application/json")
        .timeout(timeoutMs);
    Future<HttpResponse<Buffer>> sent = body == null
        ? request.send()
        : request.putHeader("Content-Type", "application/json").sendBuffer(body);
    return sent.transform(ar -> {
      if (ar.failed()) {
        if (closed) {
          return Future.failedFuture(
              new CoordinatorException(CoordinatorException.Kind.UNREACHABLE, "client closed"));
        }
        return Future.failedFuture(unreachable(used, describe(ar.cause())));
      }
      HttpResponse<Buffer> response = ar.result();
      int status = response.statusCode();
      if (status >= 500) {
        return Future.failedFuture(unreachable(used, "answered " + status + errorText(response)));
      }
      reached(base);
      if (status >= 200 && status < 300) {
        if (refusals.remove(endpoint) != null) {
          LOG.info("coordinator {} accepts the agent's {} requests again", base, endpoint);
        }
        return Future.succeededFuture(response);
      }
      return Future.failedFuture(refused(endpoint, base, "answered " + status + errorText(response)));
    });
  }

  /** Records a failed attempt on {@code bases[used]} and moves on; logs only the first failure of an outage. */
  private CoordinatorException unreachable(int used, String reason) {
    String failed = bases.get(used);
    if (current == used) {
      // Two requests failing on the same URL must move on once, not skip the next one.
      current = (used + 1) % bases.size();
    }
    if (outageSince == null) {
      outageSince = clock.instant();
      String next = bases.size() > 1 ? "; trying " + bases.get(current) + " next" : "";
      LOG.warn("cannot reach coordinator {} ({}){}; retrying until a coordinator answers", failed, reason, next);
    }
    return new CoordinatorException(CoordinatorException.Kind.UNREACHABLE, failed + ": " + reason);
  }

  private void reached(String base) {
    if (outageSince != null) {
      Duration down = Duration.between(outageSince, clock.instant());
      LOG.info("{} coordinator {} after {}", everReached ? "connection restored:" : "connected to",
          base, Durations.elapsed(down));
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
  private static String errorText(HttpResponse<Buffer> response) {
    String body = response.bodyAsString();
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
}
