package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.coordinator.http.ApiDocument;
import dev.lockstep.protocol.Json;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /openapi.yaml} against a real coordinator process, and the document against what that
 * coordinator answers: every operation asks for the tokens its {@code security} names, and real
 * answers of every route (a report, the fleet, a check, a release run to its end, its events and
 * migration set, a prune dry run, a contract left pending and applied later, errors) have a documented status, a documented content type and,
 * for JSON, a body the operation's schema accepts.
 */
class OpenApiIT {
  private static final HttpClient http = HttpClient.newHttpClient();
  private static TestDatabase db;
  private static Fleet fleet;
  private static ApiDocument api;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("OpenApiIT");
    fleet = new Fleet("OpenApiIT", db);
    fleet.startCoordinator(fleet.migrations("story"));
    api = ApiDocument.shipped();
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void theDocumentIsServedWithoutATokenAsTheJarShipsIt() throws Exception {
    HttpResponse<String> response = send("GET", "/openapi.yaml", null, null);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/yaml");
    assertThat(response.body()).isEqualTo(ApiDocument.shippedText());
  }

  @Test
  void everyOperationAsksForTheTokensItsSecurityNames() throws Exception {
    List<String> problems = new ArrayList<>();
    for (ApiDocument.Operation op : api.operations()) {
      String path = op.path();
      for (Map<String, Object> p : op.parameters(api)) {
        if ("path".equals(p.get("in"))) {
          // The fleet's own service, so an agent token of it is refused only for the role, not for the service.
          Object value = "service".equals(p.get("name")) ? fleet.service : p.getOrDefault("example", "x");
          path = path.replace("{" + p.get("name") + "}", String.valueOf(value));
        }
      }
      boolean needsToken = !op.security(api).isEmpty();
      HttpResponse<String> anonymous = send(op.method(), path, null, null);
      problems.addAll(conforms(op, anonymous));
      if (needsToken != (anonymous.statusCode() == 401)) {
        problems.add(op.name() + " without a token: " + anonymous.statusCode() + " " + anonymous.body());
      }
      if (needsToken) {
        HttpResponse<String> agent = send(op.method(), path, Fleet.agentToken(fleet.service, "oa-1"), null);
        problems.addAll(conforms(op, agent));
        boolean refused = agent.statusCode() == 401 || agent.statusCode() == 403;
        if (op.accepts(api, "agentToken") == refused) {
          problems.add(op.name() + " with the agent token: " + agent.statusCode() + " " + agent.body());
        }
      }
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void realAnswersOfEveryRouteMatchTheDocument() throws Exception {
    String op = Fleet.OPERATOR_TOKEN;
    String report = "{\"id\":\"oa-1\",\"service\":\"" + fleet.service + "\",\"revision\":\"v1\",\"state\":\"serving\"}";
    expect(200, "PUT", "/v1/agents/{id}", "/v1/agents/oa-1", Fleet.agentToken(fleet.service, "oa-1"), report);
    expect(200, "GET", "/v1/agents", "/v1/agents", op, null);
    expect(200, "GET", "/v1/agents", "/v1/agents?service=" + fleet.service + "&state=serving&revision=v1", op, null);
    // With ?service=: the shared Redis may hold an oa-1 of another test run's service.
    expect(200, "GET", "/v1/agents/{id}", "/v1/agents/oa-1?service=" + fleet.service, op, null);
    expect(404, "GET", "/v1/agents/{id}", "/v1/agents/ghost", op, null);
    expect(200, "GET", "/v1/services/{service}/desired", "/v1/services/" + fleet.service + "/desired?index=0", Fleet.agentToken(fleet.service, "oa-1"), null);
    expect(400, "GET", "/v1/services/{service}/desired", "/v1/services/" + fleet.service + "/desired?wait=forever", op, null);
    expect(409, "GET", "/v1/services/{service}/gate", "/v1/services/" + fleet.service + "/gate?revision=v1",
        Fleet.agentToken(fleet.service, "oa-1"), null);
    expect(409, "GET", "/v1/services/{service}/gate", "/v1/services/" + fleet.service + "/gate?revision=v9", op, null);
    expect(400, "GET", "/v1/services/{service}/gate", "/v1/services/" + fleet.service + "/gate", op, null);
    String set = "{\"files\":{\"V1__x.sql\":\"U0VMRUNUIDE7\"}}";
    String digest = dev.lockstep.protocol.MigrationsDigest.of(new java.util.TreeMap<>(Map.of("V1__x.sql",
        "SELECT 1;".getBytes(java.nio.charset.StandardCharsets.UTF_8))));
    expect(200, "PUT", "/v1/services/{service}/migration-sets/{digest}", "/v1/services/" + fleet.service
        + "/migration-sets/" + digest, Fleet.agentToken(fleet.service, "oa-1"), set);
    expect(422, "PUT", "/v1/services/{service}/migration-sets/{digest}", "/v1/services/" + fleet.service
        + "/migration-sets/" + "0".repeat(64), op, set);
    expect(200, "DELETE", "/v1/agents/{id}", "/v1/agents/oa-1?service=" + fleet.service, op, null);
    expect(200, "DELETE", "/v1/agents/{id}", "/v1/agents/oa-1?service=" + fleet.service, Fleet.agentToken(fleet.service, "oa-1"), null);
    expect(200, "POST", "/v1/check", "/v1/check", op, null);
    expect(200, "POST", "/v1/check", "/v1/check", op, "{\"schema\":\"1\"}");
    expect(200, "GET", "/v1/migrations", "/v1/migrations", op, null);

    // A release with no agents runs to its end at once.
    String id = (String) json(expect(202, "POST", "/v1/releases", "/v1/releases", op, "{\"revision\":\"v2\"}")).get("id");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).until(() -> List.of("COMPLETED", "ABORTED", "FAILED")
        .contains(json(expect(200, "GET", "/v1/releases/{id}", "/v1/releases/" + id, op, null)).get("phase")));
    expect(422, "POST", "/v1/releases", "/v1/releases", op, "{\"revision\":\"v3\",\"service\":\"other\"}");
    expect(409, "POST", "/v1/releases/{id}/abort", "/v1/releases/" + id + "/abort", op, null);
    expect(404, "GET", "/v1/releases/{id}", "/v1/releases/r-none", op, null);
    expect(200, "GET", "/v1/releases", "/v1/releases", op, null);
    expect(200, "GET", "/v1/releases", "/v1/releases?service=" + fleet.service + "&limit=5", op, null);
    events(expect(200, "GET", "/v1/releases/{id}/events", "/v1/releases/" + id + "/events", op, null).body());
    Map<?, ?> listing = json(expect(200, "GET", "/v1/releases/{id}/migrations", "/v1/releases/" + id + "/migrations", op, null));
    String file = (String) ((Map<?, ?>) ((List<?>) listing.get("files")).get(0)).get("name");
    expect(200, "GET", "/v1/releases/{id}/migrations/{name}", "/v1/releases/" + id + "/migrations/" + file, op, null);
    expect(404, "GET", "/v1/releases/{id}/migrations/{name}", "/v1/releases/" + id + "/migrations/V9__none.sql", op, null);
    expect(200, "POST", "/v1/migration-sets/prune", "/v1/migration-sets/prune", op, "{\"keep\":1,\"dryRun\":true}");
    expect(400, "POST", "/v1/migration-sets/prune", "/v1/migration-sets/prune", op, "{\"keep\":1,\"dryrun\":true}");
    contract(op);

    expect(200, "GET", "/health", "/health", null, null);
    expect(200, "GET", "/ready", "/ready", null, null);
    expect(200, "GET", "/live", "/live", null, null);
    expect(200, "GET", "/metrics", "/metrics", null, null);
    expect(200, "GET", "/", "/", null, null);
    expect(200, "GET", "/dashboard/{path}", "/dashboard/dashboard.css", null, null);
    expect(200, "GET", "/dashboard/{path}", "/dashboard/dashboard.js", null, null);
    expect(404, "GET", "/dashboard/{path}", "/dashboard/none.js", null, null);
  }

  /**
   * Contract migrations: a check that names them, a release that leaves them pending ({@code contract: defer}), the
   * route that applies them refused while an agent runs another revision, then applying them, and every answer on the
   * way as documented (CONTRACTING in the events, the release's {@code contract} in each state).
   */
  private static void contract(String op) throws Exception {
    String path = "/v1/services/" + fleet.service + "/contract";
    String template = "/v1/services/{service}/contract";
    expect(409, "POST", template, path, op, null);   // no release has a contract to apply
    expect(422, "POST", template, "/v1/services/other/contract", op, null);

    Map<String, String> files = new java.util.TreeMap<>(Fleet.upload(java.nio.file.Path.of("src", "test", "resources", "story")));
    files.put("V3__add_orders_note.sql", base64("ALTER TABLE orders ADD COLUMN note text;"));
    files.put("contract/V4__drop_orders_total.sql", base64("ALTER TABLE orders DROP COLUMN total;"));
    String migrations = Json.write(files);
    Map<?, ?> check = json(expect(200, "POST", "/v1/check", "/v1/check", op, "{\"migrations\":" + migrations + "}"));
    assertThat(check.get("contract")).isEqualTo(List.of("V4 (drop orders total)"));

    Map<?, ?> started = json(expect(202, "POST", "/v1/releases", "/v1/releases", op,
        "{\"revision\":\"v3\",\"contract\":\"defer\",\"migrations\":" + migrations + "}"));
    assertThat(((Map<?, ?>) started.get("contract")).get("state")).isEqualTo("waiting");
    String id = (String) started.get("id");
    Map<?, ?> done = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250))
        .until(() -> json(expect(200, "GET", "/v1/releases/{id}", "/v1/releases/" + id, op, null)),
            d -> List.of("COMPLETED", "ABORTED", "FAILED").contains(d.get("phase")));
    assertThat(done.get("phase")).as(String.valueOf(done)).isEqualTo("COMPLETED");
    assertThat(((Map<?, ?>) done.get("contract")).get("state")).isEqualTo("pending");
    assertThat(((Map<?, ?>) done.get("options")).get("contract")).isEqualTo("defer");
    String stream = expect(200, "GET", "/v1/releases/{id}/events", "/v1/releases/" + id + "/events", op, null).body();
    assertThat(stream).contains("event: CONTRACTING");
    events(stream);
    // The next release is refused while the contract is pending.
    expect(409, "POST", "/v1/releases", "/v1/releases", op, "{\"revision\":\"v4\"}");

    // An agent on another revision holds it back; once it is gone, the contract applies.
    String report = "{\"id\":\"oa-2\",\"service\":\"" + fleet.service + "\",\"revision\":\"v2\",\"state\":\"serving\"}";
    expect(200, "PUT", "/v1/agents/{id}", "/v1/agents/oa-2", Fleet.agentToken(fleet.service, "oa-2"), report);
    Map<?, ?> refused = json(expect(409, "POST", template, path, op, null));
    assertThat((String) refused.get("detail")).contains("oa-2 on v2");
    expect(200, "DELETE", "/v1/agents/{id}", "/v1/agents/oa-2?service=" + fleet.service, op, null);
    Map<?, ?> applied = json(expect(200, "POST", template, path, op, null));
    assertThat(((Map<?, ?>) applied.get("contract")).get("state")).as(String.valueOf(applied)).isEqualTo("applied");
    assertThat(((Map<?, ?>) applied.get("contract")).get("appliedAt")).isNotNull();
    expect(409, "POST", template, path, op, null);   // applied: nothing left to apply
    Map<?, ?> history = json(expect(200, "GET", "/v1/migrations", "/v1/migrations", op, null));
    assertThat((List<?>) history.get("applied")).anySatisfy(e -> {
      assertThat(((Map<?, ?>) e).get("version")).isEqualTo("4");
      assertThat(((Map<?, ?>) e).get("contract")).isEqualTo(true);
    });
  }

  private static String base64(String sql) {
    return java.util.Base64.getEncoder().encodeToString(sql.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** Each event of a finished release's stream: {@code ReleaseEvent}s, then {@code end} with the document. */
  private static void events(String stream) throws Exception {
    List<String> problems = new ArrayList<>();
    String event = null;
    int ends = 0;
    for (String line : stream.split("\n")) {
      if (line.startsWith("event: ")) {
        event = line.substring(7);
      } else if (line.startsWith("data: ")) {
        boolean end = "end".equals(event);
        ends += end ? 1 : 0;
        problems.addAll(api.check(Json.mapper().readValue(line.substring(6), Object.class),
            api.resolve("#/components/schemas/" + (end ? "ReleaseDocument" : "ReleaseEvent")), "event " + event));
      }
    }
    assertThat(ends).as(stream).isEqualTo(1);
    assertThat(problems).isEmpty();
  }

  /** Sends the request and checks the answer against the document's operation {@code method template}. */
  private static HttpResponse<String> expect(int status, String method, String template, String path, String token,
                                             String body) throws Exception {
    HttpResponse<String> response = send(method, path, token, body);
    assertThat(response.statusCode()).as(method + " " + path + ": " + response.body()).isEqualTo(status);
    assertThat(conforms(api.operation(method, template), response)).isEmpty();
    return response;
  }

  /** What in {@code response} the operation does not document: its status, content type, headers or body. */
  private static List<String> conforms(ApiDocument.Operation op, HttpResponse<String> response) throws Exception {
    String where = op.name() + " " + response.statusCode();
    Map<String, Object> documented = op.responses(api).get(Integer.toString(response.statusCode()));
    if (documented == null) {
      return List.of(where + ": status not documented (" + response.body() + ")");
    }
    List<String> problems = new ArrayList<>();
    if (documented.get("headers") instanceof Map<?, ?> headers) {
      headers.keySet().stream().filter(h -> response.headers().firstValue(String.valueOf(h)).isEmpty())
          .forEach(h -> problems.add(where + ": no header " + h));
    }
    String type = response.headers().firstValue("Content-Type").orElse("").split(";")[0].trim().toLowerCase(Locale.ROOT);
    Map<?, ?> content = (Map<?, ?>) documented.getOrDefault("content", Map.of());
    if (!content.containsKey(type)) {
      problems.add(where + ": content type '" + type + "' not documented (" + content.keySet() + ")");
    } else if (type.equals("application/json")) {
      @SuppressWarnings("unchecked")
      Map<String, Object> schema = (Map<String, Object>) ((Map<?, ?>) content.get(type)).get("schema");
      problems.addAll(api.check(Json.mapper().readValue(response.body(), Object.class), schema, where));
    }
    return problems;
  }

  private static Map<?, ?> json(HttpResponse<String> response) throws Exception {
    return Json.mapper().readValue(response.body(), Map.class);
  }

  private static HttpResponse<String> send(String method, String path, String token, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fleet.url() + path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
