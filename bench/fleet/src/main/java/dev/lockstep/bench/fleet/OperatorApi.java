package dev.lockstep.bench.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lockstep.protocol.Json;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The operator's side of the API, as the bench needs it: start a release, read its document and event log, and list
 * the fleet. Listing follows paging if the coordinator pages ({@code next} or {@code cursor} in the answer), so the
 * bench keeps measuring "read the whole fleet" however the list endpoint evolves.
 */
public final class OperatorApi {
  /** One HTTP answer, and when its last byte arrived ({@link System#nanoTime()}). */
  public record Answer(int status, String body, long answeredNanos) implements StatusLoad.Timed {
    JsonNode json() {
      try {
        return Json.mapper().readTree(body);
      } catch (java.io.IOException e) {
        throw new IllegalStateException("not JSON (status " + status + "): " + body, e);
      }
    }
  }

  /**
   * The whole fleet as one listing: how many agents, over how many pages, and their states; when the last page's last
   * byte arrived.
   */
  public record Listing(int agents, int pages, java.util.Map<String, Integer> byState, long answeredNanos)
      implements StatusLoad.Timed {}

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(OperatorApi.class);
  private final Vertx vertx;
  private final HttpClientAgent http;
  private final String token;

  public OperatorApi(Vertx vertx, String token, int connections) {
    this.vertx = vertx;
    this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setConnectTimeout(3_000),
        new PoolOptions().setHttp1MaxSize(connections));
    this.token = token;
  }

  public Future<Answer> send(HttpMethod method, String url, String body, long timeoutMs) {
    RequestOptions options = new RequestOptions().setMethod(method).setAbsoluteURI(url).setTimeout(timeoutMs)
        .putHeader(HttpHeaders.AUTHORIZATION, "Bearer " + token).putHeader(HttpHeaders.ACCEPT, "application/json");
    Future<Answer> sent = http.request(options).compose(request -> {
      if (body != null) {
        request.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        return request.send(Buffer.buffer(body));
      }
      return request.send();
    }).compose(response -> response.body().map(b -> new Answer(response.statusCode(), b.toString(), System.nanoTime())));
    // Vert.x 5.0.7's client sometimes never completes a request, its own timeout included (as in eclipse-vertx/vert.x
    // #5231): a request lost that way fails as a timeout a little after its own would have, so a load counts it
    // instead of waiting for it forever.
    Promise<Answer> answer = Promise.promise();
    long guard = vertx.setTimer(timeoutMs + 5_000, id -> {
      if (answer.tryFail(new java.util.concurrent.TimeoutException("timeout: no answer and no error from the bench's"
          + " HTTP client " + (timeoutMs + 5_000) + " ms after " + method + " " + url))) {
        LOG.warn("{} {}: the bench's HTTP client neither answered nor failed it; counted as a timeout", method, url);
      }
    });
    sent.onComplete(ar -> {
      vertx.cancelTimer(guard);
      if (ar.succeeded()) {
        answer.tryComplete(ar.result());
      } else {
        answer.tryFail(ar.cause());
      }
    });
    return answer.future();
  }

  public Future<Answer> get(String url) {
    return send(HttpMethod.GET, url, null, 30_000);
  }

  /**
   * Asks {@code url} again on a connection of its own, outside Vert.x, when a request through the pool got no answer in
   * time: tells a coordinator that stopped answering from a request lost on the bench's side. Returns what happened.
   */
  public String probeAfresh(String url) {
    long started = System.nanoTime();
    try {
      java.net.http.HttpResponse<String> answer = freshGet(url);
      return "a fresh connection got " + answer.statusCode() + " (" + answer.body().length() + " chars) in "
          + (System.nanoTime() - started) / 1_000_000 + " ms";
    } catch (Exception e) {
      return "a fresh connection got no answer either (" + e + ") after " + (System.nanoTime() - started) / 1_000_000
          + " ms";
    }
  }

  /** {@code GET url} with the operator's token through the JDK's client: a connection of its own, not the pool's. */
  private java.net.http.HttpResponse<String> freshGet(String url) throws java.io.IOException, InterruptedException {
    return java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).timeout(java.time.Duration.ofSeconds(10))
            .header("Authorization", "Bearer " + token).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  /**
   * {@link #listAgents}, waited for on the calling (non-Vert.x) thread. One that gets no answer in time is asked again
   * on a fresh connection ({@link #probeAfresh}), the log says what that got and what the coordinator has in progress,
   * and the listing is sent through the pool once more; a second timeout is thrown. (Seen here: the coordinator answered
   * the fresh connection in 18 ms with only the agents' blocking queries and the probe in progress, so the request was
   * lost in the bench's Vert.x 5.0.7 client pool, not by the coordinator; the listings this waits for are not measured.)
   */
  public Listing awaitListing(String base, String service, long seconds) throws Exception {
    try {
      return await(listAgents(base, service, null), seconds);
    } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
      if (e instanceof java.util.concurrent.ExecutionException failed
          && !(failed.getCause() instanceof java.util.concurrent.TimeoutException)) {
        throw e; // an answer that is an error: not a lost request
      }
      String url = base + "/v1/agents?service=" + encode(service);
      LOG.error("GET {} got no answer in {} s through the bench's pool; {}; the coordinator's requests in progress: {};"
          + " asking once more", url, seconds, probeAfresh(url), activeRequests(base));
      return await(listAgents(base, service, null), seconds);
    }
  }

  /** The coordinator's own count of HTTP requests in progress ({@code /metrics}), on a fresh connection. */
  private String activeRequests(String base) {
    try {
      return freshGet(base + "/metrics").body().lines().filter(l -> l.startsWith("vertx_http_server_active_requests")
          || l.startsWith("vertx_http_server_active_connections")).toList().toString();
    } catch (Exception e) {
      return "unknown (" + e + ")";
    }
  }

  /** Blocks the calling (non-Vert.x) thread for an answer. */
  public static <T> T await(Future<T> future, long seconds) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(seconds, TimeUnit.SECONDS);
  }

  /**
   * {@code GET /v1/agents?service=S}, then every further page the answer points to: a {@code next} that is a path or
   * URL, or a {@code next}/{@code cursor}/{@code nextCursor} token sent back as {@code &cursor=}.
   */
  public Future<Listing> listAgents(String base, String service, String filter) {
    String first = base + "/v1/agents?service=" + encode(service) + (filter == null ? "" : "&" + filter);
    return page(base, first, first, new Listing(0, 0, new java.util.TreeMap<>(), 0));
  }

  private Future<Listing> page(String base, String firstUrl, String url, Listing sofar) {
    return get(url).compose(answer -> {
      if (answer.status() != 200) {
        return Future.failedFuture("GET " + url + " answered " + answer.status() + ": " + answer.body());
      }
      PageSummary summary = PageSummary.of(answer.body());
      java.util.Map<String, Integer> byState = new java.util.TreeMap<>(sofar.byState());
      summary.byState().forEach((state, n) -> byState.merge(state, n, Integer::sum));
      Listing now = new Listing(sofar.agents() + summary.agents(), sofar.pages() + 1, byState, answer.answeredNanos());
      String next = nextPage(base, firstUrl, summary.links());
      return next == null || summary.agents() == 0 ? Future.succeededFuture(now) : page(base, firstUrl, next, now);
    });
  }

  /**
   * What the bench needs of a page of the agent list, read with Jackson's streaming parser: the number of agents, their
   * states, and the paging fields. Building a tree of a thousand agents per answer made the bench's eight status clients
   * the largest CPU user of the bench JVM (half its samples), on the event loops the simulated agents share.
   */
  record PageSummary(int agents, java.util.Map<String, Integer> byState, JsonNode links) {
    static PageSummary of(String body) {
      int agents = 0;
      java.util.Map<String, Integer> byState = new java.util.TreeMap<>();
      com.fasterxml.jackson.databind.node.ObjectNode links = Json.mapper().createObjectNode();
      try (com.fasterxml.jackson.core.JsonParser p = Json.mapper().getFactory().createParser(body)) {
        if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
          throw new IllegalStateException("not a JSON object: " + abbreviate(body));
        }
        while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
          String field = p.currentName();
          com.fasterxml.jackson.core.JsonToken value = p.nextToken();
          if ("agents".equals(field) && value == com.fasterxml.jackson.core.JsonToken.START_ARRAY) {
            while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
              agents++;
              String state = "?";
              while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if ("state".equals(name)) {
                  state = p.getValueAsString("?");
                } else {
                  p.skipChildren();
                }
              }
              byState.merge(state, 1, Integer::sum);
            }
          } else if (value.isScalarValue()) {
            links.put(field, p.getValueAsString());
          } else {
            p.skipChildren();
          }
        }
      } catch (java.io.IOException e) {
        throw new IllegalStateException("not JSON: " + abbreviate(body), e);
      }
      return new PageSummary(agents, byState, links);
    }

    private static String abbreviate(String body) {
      return body.length() > 200 ? body.substring(0, 200) + "…" : body;
    }
  }

  static String nextPage(String base, String firstUrl, JsonNode json) {
    for (String field : List.of("next", "nextCursor", "cursor")) {
      JsonNode value = json.path(field);
      if (value.isNull() || value.isMissingNode() || value.asText().isEmpty()) {
        continue;
      }
      String text = value.asText();
      if (text.startsWith("http://") || text.startsWith("https://")) {
        return text;
      }
      if (text.startsWith("/")) {
        return base + text;
      }
      return firstUrl + "&cursor=" + encode(text);
    }
    return null;
  }

  /** The event log of a release, read to its end ({@code event: end}, which carries the final document). */
  public Future<List<JsonNode>> events(String base, String releaseId, long timeoutMs) {
    return send(HttpMethod.GET, base + "/v1/releases/" + encode(releaseId) + "/events", null, timeoutMs)
        .map(answer -> {
          List<JsonNode> events = new ArrayList<>();
          for (String block : answer.body().split("\n\n")) {
            for (String line : block.split("\n")) {
              if (line.startsWith("data: ")) {
                try {
                  events.add(Json.mapper().readTree(line.substring(6)));
                } catch (java.io.IOException e) {
                  throw new IllegalStateException("malformed event: " + line, e);
                }
              }
            }
          }
          return events;
        });
  }

  public void close() {
    http.close();
  }

  static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
