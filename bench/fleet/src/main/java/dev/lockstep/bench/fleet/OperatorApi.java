package dev.lockstep.bench.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lockstep.protocol.Json;
import io.vertx.core.Future;
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
  /** One HTTP answer. */
  public record Answer(int status, String body) {
    JsonNode json() {
      try {
        return Json.mapper().readTree(body);
      } catch (java.io.IOException e) {
        throw new IllegalStateException("not JSON (status " + status + "): " + body, e);
      }
    }
  }

  /** The whole fleet as one listing: how many agents, over how many pages, and their states. */
  public record Listing(int agents, int pages, java.util.Map<String, Integer> byState) {}

  private final HttpClientAgent http;
  private final String token;

  public OperatorApi(Vertx vertx, String token, int connections) {
    this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setConnectTimeout(3_000),
        new PoolOptions().setHttp1MaxSize(connections));
    this.token = token;
  }

  public Future<Answer> send(HttpMethod method, String url, String body, long timeoutMs) {
    RequestOptions options = new RequestOptions().setMethod(method).setAbsoluteURI(url).setTimeout(timeoutMs)
        .putHeader(HttpHeaders.AUTHORIZATION, "Bearer " + token).putHeader(HttpHeaders.ACCEPT, "application/json");
    return http.request(options).compose(request -> {
      if (body != null) {
        request.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        return request.send(Buffer.buffer(body));
      }
      return request.send();
    }).compose(response -> response.body().map(b -> new Answer(response.statusCode(), b.toString())));
  }

  public Future<Answer> get(String url) {
    return send(HttpMethod.GET, url, null, 30_000);
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
    return page(base, first, first, new Listing(0, 0, new java.util.TreeMap<>()));
  }

  private Future<Listing> page(String base, String firstUrl, String url, Listing sofar) {
    return get(url).compose(answer -> {
      if (answer.status() != 200) {
        return Future.failedFuture("GET " + url + " answered " + answer.status() + ": " + answer.body());
      }
      JsonNode json = answer.json();
      JsonNode agents = json.path("agents");
      java.util.Map<String, Integer> byState = new java.util.TreeMap<>(sofar.byState());
      agents.forEach(a -> byState.merge(a.path("state").asText("?"), 1, Integer::sum));
      Listing now = new Listing(sofar.agents() + agents.size(), sofar.pages() + 1, byState);
      String next = nextPage(base, firstUrl, json);
      return next == null || agents.isEmpty() ? Future.succeededFuture(now) : page(base, firstUrl, next, now);
    });
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
