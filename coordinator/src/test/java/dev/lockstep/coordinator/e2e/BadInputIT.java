package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Hostile and careless input against every route of a real coordinator process: each answer is a
 * JSON 4xx that names the problem, never a 500 (DESIGN.md: "a 500 is always a bug").
 *
 * <p>Two tables. {@link #expectations()} pairs a request with the 4xx it must get and words its
 * detail must contain. {@link #sweep()} sends every hostile input to every route with every token
 * and only asks for "no 5xx, and errors are JSON". To cover a new route, add it to {@link #ROUTES};
 * a new kind of bad input, to {@link #BODIES}, {@link #QUERIES} or {@link #IDS}.
 *
 * <p>Lives in {@code e2e} beside {@link ApiIT} because it starts the coordinator the same way, as a
 * process from the shaded jar, through {@link Fleet}.
 */
class BadInputIT {
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final String OP = Fleet.OPERATOR_TOKEN;
  /** Stands for the token of agent a-1 of the fleet's service, which exists only once the fleet does ({@link #token}). */
  private static final String AGENT = "agent a-1";
  private static TestDatabase db;
  private static Fleet fleet;

  /** One request: raw bytes as a client could send them, and at most one extra header. */
  record Call(String method, String target, String token, byte[] body, String header, String value) {
    Call(String method, String target, String token, byte[] body) {
      this(method, target, token, body, null, null);
    }

    @Override
    public String toString() {
      String shown = body == null ? "" : " " + printable(new String(body, StandardCharsets.UTF_8));
      String extra = header == null ? "" : " " + header + ": " + value;
      return method + " " + target + (token == OP ? " [operator]" : token == AGENT ? " [agent]" : " [no token]") + extra + shown;
    }
  }

  /** A route: method, path (ids filled in), and which tokens may call it. */
  record Route(String method, String path, boolean readsBody, String... tokens) {}

  /** A bad value and the words the answer's detail must contain. */
  record Bad(String text, String... detail) {
    byte[] bytes() {
      return text.getBytes(StandardCharsets.UTF_8);
    }
  }

  // Every route of HttpApi and its *Routes classes. The ids are unknown ones: nothing here may start a release.
  static final List<Route> ROUTES = List.of(
      new Route("GET", "/health", false, (String) null),
      new Route("GET", "/ready", false, (String) null),
      new Route("GET", "/live", false, (String) null),
      new Route("GET", "/metrics", false, (String) null),
      new Route("GET", "/openapi.yaml", false, (String) null),
      new Route("PUT", "/v1/agents/{agent}", true, AGENT, OP),
      new Route("GET", "/v1/agents", false, OP),
      new Route("GET", "/v1/agents/{agent}", false, OP),
      new Route("DELETE", "/v1/agents/{agent}", false, OP, AGENT),
      new Route("GET", "/v1/services/{service}/desired", false, AGENT, OP),
      new Route("GET", "/v1/services/{service}/gate", false, OP, AGENT),
      new Route("PUT", "/v1/services/{service}/migration-sets/" + "a".repeat(64), true, OP),
      new Route("POST", "/v1/releases", true, OP),
      new Route("GET", "/v1/releases", false, OP),
      new Route("GET", "/v1/releases/{release}", false, OP),
      new Route("GET", "/v1/releases/{release}/events", false, OP),
      new Route("GET", "/v1/releases/{release}/migrations", false, OP),
      new Route("GET", "/v1/releases/{release}/migrations/V1__x.sql", false, OP),
      new Route("POST", "/v1/releases/{release}/abort", false, OP),
      new Route("POST", "/v1/services/{service}/contract", false, OP),
      new Route("GET", "/v1/migrations", false, OP),
      new Route("POST", "/v1/check", true, OP),
      new Route("POST", "/v1/baseline", true, OP),
      new Route("POST", "/v1/migration-sets/prune", true, OP));

  // Bodies that are not the JSON object a route wants, whatever the route.
  static final List<Bad> BODIES = List.of(
      new Bad("null", "JSON object", "null"),
      new Bad("[]", "JSON object", "array"),
      new Bad("[{\"revision\":\"v2\"}]", "JSON object", "array"),
      new Bad("\"str\"", "JSON object", "string"),
      new Bad("42", "JSON object", "number"),
      new Bad("true", "JSON object", "boolean"),
      new Bad("{\"revision\":", "malformed"),
      new Bad("{\"revision\": {}}", "revision", "object"),
      new Bad("{\"revision\": [\"v2\"]}", "revision", "array"),
      new Bad("{\"revision\": 5}", "revision", "number"),
      new Bad("{\"revision\": true}", "revision", "boolean"));

  // Query strings no route should choke on.
  static final List<Bad> QUERIES = List.of(
      new Bad("wait=9999999999999999h", "wait", "9999999999999999h"),
      new Bad("wait=99999999999999999999s", "wait", "99999999999999999999s"),
      new Bad("wait=-5s", "wait", "-5s"),
      new Bad("wait=6m", "wait", "5m"),
      new Bad("index=-1", "index", "-1"),
      new Bad("index=99999999999999999999", "index", "99999999999999999999"),
      new Bad("index=abc", "index", "abc"),
      new Bad("limit=-1", "limit", "-1"),
      new Bad("limit=0", "limit", "0"),
      new Bad("limit=99999999999", "limit", "99999999999"),
      new Bad("limit=abc", "limit", "abc"),
      new Bad("service=a%00b", "service", "control character"),
      new Bad("service=a%0Ab", "service", "control character"),
      new Bad("service=%FF%FE", "service"),
      new Bad("state=dancing", "state", "dancing"));

  // Path ids (already percent-encoded) that are not ids.
  static final List<Bad> IDS = List.of(
      new Bad("a%00b", "control character"),
      new Bad("a%0Ab", "control character"),
      new Bad("%1B%5B31m", "control character"),
      new Bad("%FF%FE", "may only contain"),
      new Bad("x".repeat(300), "300 characters"));

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("BadInputIT");
    fleet = new Fleet("BadInputIT", db);
    fleet.startCoordinator(fleet.migrations("story"));
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  /** Each bad input where it matters, with the status and the words the detail must contain. */
  @TestFactory
  Stream<DynamicTest> expectations() {
    List<DynamicTest> tests = new ArrayList<>();
    String service = fleet.service;
    String report = "\"id\":\"a-1\",\"service\":\"" + service + "\",\"revision\":\"v1\",\"state\":\"serving\"";

    for (Route route : ROUTES) {
      if (!route.readsBody()) {
        continue;
      }
      for (String token : route.tokens()) {
        for (Bad body : BODIES) {
          tests.add(expect(new Call(route.method(), fill(route.path(), "a-1"), token, body.bytes()), 400, body.detail()));
        }
        tests.add(expect(new Call(route.method(), fill(route.path(), "a-1"), token,
            new byte[] {'{', '"', 'r', 'e', 'v', 'i', 's', 'i', 'o', 'n', '"', ':', '"', (byte) 0xff, (byte) 0xfe, '"', '}'}),
            400, "UTF-8"));
      }
    }

    // Release and check requests: wrongly typed fields, control characters.
    for (String path : List.of("/v1/releases", "/v1/check")) {
      tests.add(expect(new Call("POST", path, OP, bytes("{\"revision\":\"v2\",\"schema\":{}}")), 400, "schema", "object"));
      tests.add(expect(new Call("POST", path, OP, bytes("{\"revision\":\"v2\",\"schema\":2}")), 400, "schema", "number"));
      tests.add(expect(new Call("POST", path, OP, bytes("{\"revision\":\"v2\",\"mode\":5}")), 400, "mode"));
      tests.add(expect(new Call("POST", path, OP, bytes("{\"revision\":\"v2\",\"mode\":\"sideways\"}")), 400, "sideways"));
      tests.add(expect(new Call("POST", path, OP, bytes("{\"revision\":\"v2\",\"allowLost\":\"yes\"}")), 400, "allowLost"));
      tests.add(expect(new Call("POST", path, OP, bytes("{\"revision\":\"v2\",\"allowDataLoss\":null}")), 400, "allowDataLoss"));
      tests.add(expect(new Call("POST", path, OP, bytes("{\"revision\":\"v2\",\"allowDestructive\":1}")), 400, "allowDestructive"));
    }
    tests.add(expect(new Call("POST", "/v1/releases", OP, bytes("{\"revision\":\"v\\u0000\"}")), 400, "revision"));
    tests.add(expect(new Call("POST", "/v1/releases", OP, bytes("{\"revision\":\"v2\",\"service\":\"a\\u0001\"}")), 400,
        "service", "control character"));

    // Agent reports: every field typed and checked, for both tokens that may send one.
    for (String token : List.of(AGENT, OP)) {
      for (Bad body : List.of(
          new Bad("{" + report.replace("\"v1\"", "5") + "}", "revision", "number"),
          new Bad("{" + report.replace("\"serving\"", "{}") + "}", "state", "object"),
          new Bad("{" + report.replace("\"serving\"", "\"dancing\"") + "}", "dancing"),
          new Bad("{" + report.replace("\"serving\"", "\"lost\"") + "}", "state other than lost"),
          new Bad("{" + report + ",\"epoch\":\"7\"}", "epoch", "string"),
          new Bad("{" + report + ",\"epoch\":-1}", "epoch", "-1"),
          new Bad("{" + report + ",\"epoch\":99999999999999999999}", "epoch"),
          new Bad("{" + report + ",\"epoch\":1.5}", "epoch"),
          new Bad("{" + report + ",\"switchedAt\":\"yesterday\"}", "switchedAt", "yesterday"),
          new Bad("{" + report + ",\"releaseId\":\"r-\\u0000\"}", "releaseId", "control character"),
          new Bad("{" + report + ",\"digest\":{}}", "digest", "object"),
          new Bad("{" + report.replace(service, "a\\u0000b") + "}", "service", "control character"),
          new Bad("{" + report.replace(service, "") + "}", "service"),
          new Bad("{" + report.replace("\"v1\"", "\"v1\\u001b[2J\"") + "}", "revision", "control character"),
          new Bad("{" + report.replace("\"a-1\"", "\"a-2\"") + "}", "differs from the body"))) {
        tests.add(expect(new Call("PUT", "/v1/agents/a-1", token, body.bytes()), 400, body.detail()));
      }
    }

    // Query parameters: durations, indexes, limits, names.
    for (String token : List.of(AGENT, OP)) {
      for (Bad query : QUERIES.stream().filter(q -> q.text().startsWith("wait=") || q.text().startsWith("index=")).toList()) {
        tests.add(expect(new Call("GET", "/v1/services/" + service + "/desired?" + query.text(), token, null), 400, query.detail()));
      }
    }
    for (Bad query : QUERIES.stream().filter(q -> q.text().startsWith("limit=") || q.text().startsWith("service=")).toList()) {
      tests.add(expect(new Call("GET", "/v1/releases?" + query.text(), OP, null), 400, query.detail()));
    }
    for (Bad query : QUERIES.stream().filter(q -> q.text().startsWith("service=") || q.text().startsWith("state=")).toList()) {
      tests.add(expect(new Call("GET", "/v1/agents?" + query.text(), OP, null), 400, query.detail()));
    }
    for (Bad query : QUERIES.stream().filter(q -> q.text().startsWith("service=")).toList()) {
      tests.add(expect(new Call("GET", "/v1/agents/a-1?" + query.text(), OP, null), 400, query.detail()));
    }
    tests.add(expect(new Call("DELETE", "/v1/agents/a-1?service=a%00b", OP, null), 400, "service", "control character"));
    tests.add(expect(new Call("DELETE", "/v1/agents/a-1", AGENT, null), 400, "names its service", "?service="));

    // Readiness mode: the gate, the set an agent sends, a release from the new instances.
    for (String token : List.of(OP, AGENT)) {
      tests.add(expect(new Call("GET", "/v1/services/" + service + "/gate", token, null), 400, "revision", "required"));
      tests.add(expect(new Call("GET", "/v1/services/" + service + "/gate?revision=v%00", token, null), 400, "revision",
          "control character"));
    }
    String upload = "/v1/services/" + service + "/migration-sets/";
    tests.add(expect(new Call("PUT", upload + "abc", OP, bytes("{\"files\":{}}")), 400, "digest", "64"));
    tests.add(expect(new Call("PUT", upload + "a".repeat(64), OP, bytes("{}")), 400, "files", "required"));
    tests.add(expect(new Call("PUT", upload + "a".repeat(64), OP, bytes("{\"files\":{\"V1__x.sql\":\"!!\"}}")), 400,
        "V1__x.sql", "Base64"));
    tests.add(expect(new Call("PUT", upload + "a".repeat(64), OP, bytes("{\"files\":{\"V1__x.sql\":\"U0VMRUNUIDE7\"}}")),
        422, "digest to", "aaaaaaaaaaaa"));
    tests.add(expect(new Call("POST", "/v1/releases", OP, bytes("{\"revision\":\"v2\",\"migrationsFrom\":\"elsewhere\"}")),
        400, "migrationsFrom", "agents", "elsewhere"));
    tests.add(expect(new Call("POST", "/v1/releases", OP, bytes("{\"revision\":\"v2\",\"migrationsFrom\":\"agents\","
        + "\"migrations\":{}}")), 400, "not both"));
    tests.add(expect(new Call("POST", "/v1/releases", OP, bytes("{\"revision\":\"v2\",\"minReady\":-1}")), 400,
        "minReady", "-1"));
    tests.add(expect(new Call("POST", "/v1/releases", OP, bytes("{\"revision\":\"v2\",\"minReady\":\"all\"}")), 400,
        "minReady", "string"));
    tests.add(expect(new Call("POST", "/v1/releases", OP, bytes("{\"revision\":\"v2\",\"migrationsFrom\":\"agents\"}")),
        409, "no new instance", "readiness mode"));

    // Contract migrations: the release's contract option, and lockstep contract's route (no body; nothing to apply here).
    for (Bad body : List.of(
        new Bad("{\"revision\":\"v2\",\"contract\":\"later\"}", "contract", "auto", "defer", "later"),
        new Bad("{\"revision\":\"v2\",\"contract\":\"\"}", "contract", "auto", "defer"),
        new Bad("{\"revision\":\"v2\",\"contract\":5}", "contract", "number"),
        new Bad("{\"revision\":\"v2\",\"contract\":true}", "contract", "boolean"),
        new Bad("{\"revision\":\"v2\",\"contract\":{}}", "contract", "object"),
        new Bad("{\"revision\":\"v2\",\"contract\":[\"defer\"]}", "contract", "array"))) {
      tests.add(expect(new Call("POST", "/v1/releases", OP, body.bytes()), 400, body.detail()));
    }
    String contract = "/v1/services/" + service + "/contract";
    tests.add(expect(new Call("POST", contract, OP, null), 409, "no contract to apply", "no release of it has completed"));
    tests.add(expect(new Call("POST", contract, OP, bytes("{\"release\":\"r-1\"}")), 409, "no contract to apply"));
    tests.add(expect(new Call("POST", contract, AGENT, null), 403, "operator token"));
    tests.add(expect(new Call("POST", contract, null, null), 401, "bearer token"));
    tests.add(expect(new Call("POST", "/v1/services/other/contract", OP, null), 422, "manages service", "not other"));
    tests.add(expect(new Call("GET", contract, OP, null), 405, "GET is not allowed"));

    // Path ids.
    for (Bad id : IDS) {
      for (Route route : ROUTES) {
        if (route.path().contains("{") && !route.method().equals("PUT")) {
          tests.add(expect(new Call(route.method(), fill(route.path(), id.text()), route.tokens()[0], null), 400, id.detail()));
        }
      }
    }
    tests.add(expect(new Call("GET", "/v1/releases/r-nope/events", OP, null, "Last-Event-ID", "abc"), 400, "Last-Event-ID"));

    // Requests too large to read: headers and request line over the server's limits, before any route.
    tests.add(expect(new Call("GET", "/v1/agents", OP, null, "X-Padding", "x".repeat(9000)), 431,
        "headers larger than 8192 bytes"));
    tests.add(expect(new Call("GET", "/v1/agents?service=" + "a".repeat(5000), OP, null), 414, "request line", "4096 bytes"));

    // Prune requests: nothing here may delete anything.
    tests.add(expect(new Call("POST", "/v1/migration-sets/prune", OP, null), 400, "empty"));
    for (Bad body : List.of(
        new Bad("{}", "keep", "required"),
        new Bad("{\"keep\":null}", "keep", "required"),
        new Bad("{\"keep\":0}", "keep", "at least 1"),
        new Bad("{\"keep\":-3}", "keep", "at least 1"),
        new Bad("{\"keep\":\"x\"}", "keep", "string"),
        new Bad("{\"keep\":1.5}", "keep", "number"),
        new Bad("{\"keep\":99999999999}", "keep"),
        new Bad("{\"keep\":1,\"dryrun\":true}", "dryrun", "dryRun"),
        new Bad("{\"keep\":1,\"olderThan\":\"forever\"}", "olderThan", "forever"),
        new Bad("{\"keep\":1,\"olderThan\":\"-30d\"}", "olderThan", "-30d"),
        new Bad("{\"keep\":1,\"olderThan\":\"9999d\"}", "olderThan", "longer than"),
        new Bad("{\"keep\":1,\"olderThan\":30}", "olderThan", "number"),
        new Bad("{\"keep\":1,\"dryRun\":\"yes\"}", "dryRun", "string"),
        new Bad("{\"keep\":1,\"dryRun\":null}", "dryRun", "null"))) {
      tests.add(expect(new Call("POST", "/v1/migration-sets/prune", OP, body.bytes()), 400, body.detail()));
    }

    // Baseline requests: nothing here may record a baseline (and the database has no tables to adopt).
    tests.add(expect(new Call("POST", "/v1/baseline", OP, null), 400, "empty"));
    for (Bad body : List.of(
        new Bad("{}", "schema", "required"),
        new Bad("{\"dryRun\":true}", "schema", "required"),
        new Bad("{\"schema\":\"2\"}", "dryRun", "required", "silently"),
        new Bad("{\"schema\":\"2\",\"dryRun\":null}", "dryRun", "required"),
        new Bad("{\"schema\":2,\"dryRun\":true}", "schema", "number"),
        new Bad("{\"schema\":[\"2\"],\"dryRun\":true}", "schema", "array"),
        new Bad("{\"schema\":\"two\",\"dryRun\":true}", "schema", "two"),
        new Bad("{\"schema\":\"2\",\"dryRun\":\"yes\"}", "dryRun", "string"),
        new Bad("{\"schema\":\"2\",\"dryRun\":1}", "dryRun", "number"),
        new Bad("{\"schema\":\"2\",\"dryrun\":false}", "dryrun", "dryRun"),
        new Bad("{\"schema\":\"2\",\"dryRun\":true,\"confirm\":true}", "confirm", "not one BaselineRequest takes"),
        new Bad("{\"schema\":\"2\",\"dryRun\":true,\"migrations\":\"V1__x.sql\"}", "migrations", "string"),
        new Bad("{\"schema\":\"2\",\"dryRun\":true,\"service\":\"a\\u0001\"}", "service", "control character"))) {
      tests.add(expect(new Call("POST", "/v1/baseline", OP, body.bytes()), 400, body.detail()));
    }
    tests.add(expect(new Call("POST", "/v1/baseline", OP, bytes("{\"schema\":\"9\",\"dryRun\":true}")), 422, "not in"));
    tests.add(expect(new Call("POST", "/v1/baseline", OP, bytes("{\"schema\":\"1\",\"dryRun\":false}")), 422,
        "no tables", "nothing to adopt"));
    tests.add(expect(new Call("POST", "/v1/baseline", OP, bytes("{\"schema\":\"1\",\"dryRun\":true,\"service\":\"other\"}")),
        422, "manages service"));
    return tests.stream();
  }

  /** Every hostile input to every route with every token: never a 5xx, and every error is JSON. */
  @TestFactory
  Stream<DynamicTest> sweep() {
    List<DynamicTest> tests = new ArrayList<>();
    List<String> tokens = Arrays.asList(OP, AGENT, null);
    for (Route route : ROUTES) {
      for (String token : tokens) {
        for (Bad body : BODIES) {
          tests.add(noServerError(new Call(route.method(), fill(route.path(), "a-1"), token, body.bytes())));
        }
        for (Bad query : QUERIES) {
          tests.add(noServerError(new Call(route.method(), fill(route.path(), "a-1") + "?" + query.text(), token, null)));
        }
        if (route.path().contains("{")) {
          for (Bad id : IDS) {
            tests.add(noServerError(new Call(route.method(), fill(route.path(), id.text()), token, bytes("{}"))));
          }
        }
      }
    }
    return tests.stream();
  }

  private static String token(String token) {
    return token == AGENT ? Fleet.agentToken(fleet.service, "a-1") : token;
  }

  private static String fill(String path, String id) {
    return path.replace("{agent}", id).replace("{release}", id).replace("{service}", id);
  }

  private static DynamicTest expect(Call call, int status, String... detail) {
    return DynamicTest.dynamicTest(call + " -> " + status, () -> {
      HttpResponse<String> response = send(call);
      ErrorBody error = jsonError(call, response);
      assertThat(response.statusCode()).as(call + " answered " + response.body()).isEqualTo(status);
      for (String words : detail) {
        assertThat(error.detail()).as(call + " detail").containsIgnoringCase(words);
      }
    });
  }

  private static DynamicTest noServerError(Call call) {
    return DynamicTest.dynamicTest(call + " -> no 5xx", () -> {
      HttpResponse<String> response = send(call);
      assertThat(response.statusCode()).as(call + " answered " + response.body()).isLessThan(500);
      if (response.statusCode() >= 400) {
        jsonError(call, response);
      }
    });
  }

  private static ErrorBody jsonError(Call call, HttpResponse<String> response) {
    assertThat(response.statusCode()).as(call + " answered " + response.body()).isBetween(400, 499);
    assertThat(response.headers().firstValue("Content-Type")).as(call + " content type").hasValue("application/json");
    ErrorBody error = Json.read(response.body(), ErrorBody.class);
    assertThat(error).as(call + " body " + response.body()).isNotNull();
    assertThat(error.error()).as(call + " error").isNotBlank();
    assertThat(error.detail()).as(call + " detail").isNotBlank();
    return error;
  }

  private static HttpResponse<String> send(Call call) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fleet.url() + call.target())).timeout(Duration.ofSeconds(20))
        .method(call.method(), call.body() == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(call.body()));
    if (call.token() != null) {
      b.header("Authorization", "Bearer " + token(call.token()));
    }
    if (call.header() != null) {
      b.header(call.header(), call.value());
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static String printable(String text) {
    StringBuilder out = new StringBuilder();
    text.codePoints().limit(80).forEach(c -> out.append(c < 0x20 || c == 0x7f ? String.format("\\u%04x", c) : Character.toString(c)));
    return text.length() > 80 ? out + "…" : out.toString();
  }
}
