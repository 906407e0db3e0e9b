package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The HTTP API against a real coordinator process: tokens, clear 4xx errors for every kind of bad
 * input (never a 500), abort, health and metrics.
 */
class ApiIT {
  private static final HttpClient http = HttpClient.newHttpClient();
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("ApiIT");
    fleet = new Fleet("ApiIT", db);
    Path migrations = fleet.migrations("story");
    fleet.startCoordinator(migrations);
    fleet.startSlowAgent("slow-1", "v1", migrations, "sleep 4 && ");
    fleet.awaitAgents("slow-1");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  /** The token of agent a-1 of the fleet's service. */
  private static String agentToken() {
    return Fleet.agentToken(fleet.service, "a-1");
  }

  private static HttpResponse<String> call(String method, String path, String token, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fleet.url() + path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static ErrorBody error(HttpResponse<String> response, int status) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    ErrorBody error = Json.read(response.body(), ErrorBody.class);
    assertThat(error.error()).isNotBlank();
    assertThat(error.detail()).isNotBlank();
    return error;
  }

  @Test
  void tokensAreRequiredAndTheAgentTokenCannotStartOrAbortReleases() throws Exception {
    assertThat(error(call("GET", "/v1/agents", null, null), 401).detail()).contains("Authorization: Bearer");
    assertThat(error(call("GET", "/v1/agents", "wrong", null), 401).detail()).isEqualTo("unknown token");
    assertThat(error(call("POST", "/v1/releases", agentToken(), "{\"revision\":\"v9\"}"), 403).detail())
        .contains("agent token may not POST /v1/releases");
    assertThat(error(call("POST", "/v1/releases/r-1/abort", agentToken(), null), 403).error()).isEqualTo("forbidden");
    assertThat(call("GET", "/v1/services/" + fleet.service + "/desired", agentToken(), null).statusCode()).isEqualTo(200);
  }

  @Test
  void badInputGetsA4xxThatNamesTheProblem() throws Exception {
    String op = Fleet.OPERATOR_TOKEN;
    assertThat(error(call("POST", "/v1/releases", op, "{\"revision\":"), 400).detail()).contains("malformed ReleaseRequest");
    assertThat(error(call("POST", "/v1/releases", op, ""), 400).detail()).contains("request body is empty");
    assertThat(error(call("POST", "/v1/releases", op, "{}"), 400).detail()).contains("revision is required");
    assertThat(error(call("POST", "/v1/releases", op, "{\"revision\":\"v2\",\"mode\":\"sideways\"}"), 400).detail())
        .contains("unknown mode 'sideways'");
    assertThat(error(call("POST", "/v1/releases", op, "{\"revision\":\"v2\",\"schema\":\"9\"}"), 422).detail())
        .contains("schema version 9 is not in the migrations folder").contains("the newest is 2");
    assertThat(error(call("POST", "/v1/releases", op, "{\"revision\":\"v2\",\"schema\":\"DROP\"}"), 400).detail())
        .contains("schema must be a migration version");
    assertThat(error(call("POST", "/v1/releases", op, "{\"revision\":\"v2\",\"service\":\"other\"}"), 422).detail())
        .contains("manages service " + fleet.service);
    assertThat(error(call("GET", "/v1/releases/r-nope", op, null), 404).detail()).isEqualTo("no release r-nope");
    assertThat(error(call("POST", "/v1/releases/r-nope/abort", op, null), 404).detail()).isEqualTo("no release r-nope");
    assertThat(error(call("GET", "/v1/agents/ghost", op, null), 404).detail()).contains("no agent ghost");
    assertThat(error(call("DELETE", "/v1/agents/ghost", op, null), 404).detail()).contains("no agent ghost");
    assertThat(error(call("GET", "/v1/nowhere", op, null), 404).detail()).contains("/v1/nowhere");
    assertThat(error(call("PATCH", "/v1/releases", op, "{}"), 405).error()).isEqualTo("method_not_allowed");
    assertThat(error(call("GET", "/v1/services/app/desired?index=abc", op, null), 400).detail()).contains("index");
    assertThat(error(call("GET", "/v1/services/app/desired?wait=forever", op, null), 400).detail()).contains("forever");
    assertThat(error(call("PUT", "/v1/agents/a-1", agentToken(),
        "{\"id\":\"a-2\",\"service\":\"app\",\"revision\":\"v1\",\"state\":\"serving\"}"), 400).detail())
        .contains("differs from the body");
    assertThat(error(call("PUT", "/v1/agents/a-1", agentToken(),
        "{\"id\":\"a-1\",\"service\":\"app\",\"revision\":\"v1\",\"state\":\"lost\"}"), 400).detail())
        .contains("state other than lost");
    assertThat(error(call("PUT", "/v1/agents/a-1", agentToken(),
        "{\"id\":\"a-1\",\"service\":\"app\",\"revision\":\"v1\",\"state\":\"dancing\"}"), 400).detail())
        .contains("dancing");
    assertThat(error(call("PUT", "/v1/agents/a-1", agentToken(), "x".repeat(2 << 20)), 413).detail()).contains("limit 1 MiB");
  }

  @Test
  void anOperatorAbortsAReleaseWhileItPreparesAndTheAgentRunsItsAbortHook() throws Exception {
    HttpResponse<String> started = call("POST", "/v1/releases", Fleet.OPERATOR_TOKEN, "{\"revision\":\"v2\",\"schema\":\"1\"}");
    assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
    ReleaseDocument doc = Json.read(started.body(), ReleaseDocument.class);

    // A second release of the same service is refused while this one runs.
    assertThat(error(call("POST", "/v1/releases", Fleet.OPERATOR_TOKEN, "{\"revision\":\"v3\"}"), 409).detail())
        .contains("already has release " + doc.id());

    await().atMost(Duration.ofSeconds(20)).until(() -> fleet.api().get("/v1/releases/" + doc.id(), ReleaseDocument.class)
        .phase() == Phase.PREPARING);
    Fleet.CliRun abort = fleet.cli("abort", doc.id());
    assertThat(abort.exit()).as(abort.err()).isZero();

    ReleaseDocument end = await().atMost(Duration.ofSeconds(30)).until(
        () -> fleet.api().get("/v1/releases/" + doc.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    assertThat(end.phase()).isEqualTo(Phase.ABORTED);
    assertThat(end.reason()).contains("aborted by the operator");
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename IN ('flyway_schema_history', 'user')"))
        .as("nothing migrated").isZero();
    await().atMost(Duration.ofSeconds(20)).until(() -> fleet.hookLines().stream().anyMatch(l -> l.contains("slow-1 abort " + doc.id())));

    // Aborting an ended release is a conflict that says why.
    assertThat(error(call("POST", "/v1/releases/" + doc.id() + "/abort", Fleet.OPERATOR_TOKEN, null), 409).detail())
        .contains("ABORTED");
  }

  @Test
  void theFleetIsListedInPagesWithATotalAndAnETagThatAnswers304WhileNothingChanged() throws Exception {
    String op = Fleet.OPERATOR_TOKEN;
    String paged = "paged-" + fleet.service;
    for (int i = 5; i >= 1; i--) {
      String report = "{\"id\":\"p-" + i + "\",\"service\":\"" + paged + "\",\"revision\":\"v1\",\"state\":\"serving\"}";
      assertThat(call("PUT", "/v1/agents/p-" + i, op, report).statusCode()).isEqualTo(200);
    }
    HttpResponse<String> first = call("GET", "/v1/agents?service=" + paged + "&limit=2", op, null);
    assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
    com.fasterxml.jackson.databind.JsonNode page = Json.mapper().readTree(first.body());
    assertThat(page.get("total").asInt()).isEqualTo(5);
    assertThat(page.get("agents")).extracting(a -> a.get("id").asText()).containsExactly("p-1", "p-2");
    assertThat(page.get("next").asText()).isEqualTo("p-2");
    com.fasterxml.jackson.databind.JsonNode last = Json.mapper().readTree(
        call("GET", "/v1/agents?service=" + paged + "&limit=2&after=p-4", op, null).body());
    assertThat(last.get("agents")).extracting(a -> a.get("id").asText()).containsExactly("p-5");
    assertThat(last.has("next")).as("the last page has no next").isFalse();

    HttpResponse<String> all = call("GET", "/v1/agents?service=" + paged, op, null);
    String etag = all.headers().firstValue("ETag").orElseThrow();
    HttpResponse<String> again = http.send(HttpRequest.newBuilder(URI.create(fleet.url() + "/v1/agents?service=" + paged))
        .header("Authorization", "Bearer " + op).header("If-None-Match", etag).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(again.statusCode()).as("nothing changed").isEqualTo(304);
    assertThat(again.body()).isEmpty();

    String moved = "{\"id\":\"p-3\",\"service\":\"" + paged + "\",\"revision\":\"v2\",\"state\":\"serving\"}";
    assertThat(call("PUT", "/v1/agents/p-3", op, moved).statusCode()).isEqualTo(200);
    HttpResponse<String> changed = http.send(HttpRequest.newBuilder(URI.create(fleet.url() + "/v1/agents?service=" + paged))
        .header("Authorization", "Bearer " + op).header("If-None-Match", etag).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(changed.statusCode()).as("p-3 moved to v2, reported here: listed at once").isEqualTo(200);
    assertThat(changed.headers().firstValue("ETag")).isPresent().isNotEqualTo(java.util.Optional.of(etag));
    assertThat(changed.body()).contains("\"revision\":\"v2\"");

    // Across every service a page's cursor is SERVICE/ID, in the list's order (service, then id).
    com.fasterxml.jackson.databind.JsonNode across = Json.mapper().readTree(
        call("GET", "/v1/agents?limit=2&after=" + paged + "/p-2", op, null).body());
    assertThat(across.get("agents")).extracting(a -> a.get("service").asText() + "/" + a.get("id").asText())
        .containsExactly(paged + "/p-3", paged + "/p-4");
    assertThat(across.get("next").asText()).isEqualTo(paged + "/p-4");
    assertThat(across.get("total").asInt()).isGreaterThanOrEqualTo(5);
    assertThat(error(call("GET", "/v1/agents?limit=2&after=p-2", op, null), 400).detail()).contains("SERVICE/ID")
        .contains("add ?service=S");
    assertThat(error(call("GET", "/v1/agents?service=" + paged + "&limit=0", op, null), 400).detail())
        .contains("query parameter limit must be from 1 to 10000");
    assertThat(error(call("GET", "/v1/agents?service=" + paged + "&after=%00x", op, null), 400).detail())
        .contains("query parameter after");
  }

  @Test
  void healthAndMetricsNeedNoToken() throws Exception {
    HttpResponse<String> health = call("GET", "/health", null, null);
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("\"database\":\"ok\"").contains("\"redis\":\"ok\"");
    HttpResponse<String> metrics = call("GET", "/metrics", null, null);
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("vertx_http_server_requests_total")
        .contains("lockstep_agents{service=\"" + fleet.service + "\",state=\"lost\"} 0.0");
  }
}
