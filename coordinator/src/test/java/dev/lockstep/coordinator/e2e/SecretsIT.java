package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.Json;
import dev.lockstep.testkit.ScratchPostgres;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * No secret of a run reaches anything the coordinator, its agents or the CLI let out: an end-to-end
 * run with a PostgreSQL that asks for a password (a scratch cluster), a Redis that asks for an ACL
 * user's password, the operator token and the agent token, including failures made on purpose (a
 * wrong Redis password at start-up, a broken migration, malformed and unauthorised requests, the CLI
 * with the wrong kind of token). Then every log line (coordinator, agents, CLI stdout and stderr,
 * hooks), every release document, {@code /health}, {@code /ready}, {@code /metrics} and every error
 * body is searched for each secret, as it is and URL-encoded. The passwords hold characters a URL must
 * encode, so both forms differ and both are looked for.
 *
 * <p>The secrets are one list ({@link #secrets}): a new one (the agent HMAC secret) is one more line.
 */
class SecretsIT {
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** Name → secret value. Everything below checks every entry; add a secret here and it is covered. */
  private final Map<String, String> secrets = new LinkedHashMap<>();
  /** Every HTTP body the run received: documents, endpoints, error bodies. */
  private final List<String> bodies = new ArrayList<>();
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private Fleet fleet;

  @AfterEach
  void stop() throws Exception {
    if (fleet != null) {
      fleet.kill();
    }
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  @Test
  void noSecretReachesALogADocumentAnEndpointOrAnErrorMessage() throws Exception {
    Assumptions.assumeTrue(ScratchPostgres.binaries().isPresent(), "needs PostgreSQL's initdb for a cluster that asks for passwords");
    Assumptions.assumeTrue(RedisServer.available(), "needs redis-server");
    fleet = new Fleet("SecretsIT", null);
    // Only this run's output is searched: an earlier run's files hold other secrets.
    for (Path old : logFiles()) {
      Files.delete(old);
    }
    String tag = UUID.randomUUID().toString().substring(0, 8);

    ScratchPostgres pg = ScratchPostgres.start();
    cleanup.add(pg);
    String pgPassword = "pg p@ss:w/rd%" + tag + "&?#";
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + pg.port() + "/postgres", "postgres",
        pg.password()); Statement s = c.createStatement()) {
      s.execute("CREATE ROLE app LOGIN PASSWORD '" + pgPassword.replace("'", "''") + "'");
      s.execute("CREATE DATABASE app OWNER app");
    }
    SecuredRedis redis = SecuredRedis.start(fleet.dir, "lockstep", "r3d!s p@ss/" + tag + ":%", null);
    cleanup.add(redis);

    secrets.put("PostgreSQL password", pgPassword);
    secrets.put("PostgreSQL superuser password", pg.password());
    secrets.put("Redis password", redis.password());
    secrets.put("operator token", Fleet.OPERATOR_TOKEN);
    secrets.put("agent secret", Fleet.AGENT_SECRET);
    secrets.put("agent token of s-1", Fleet.agentToken(fleet.service, "s-1"));
    secrets.put("agent token of s-2", Fleet.agentToken(fleet.service, "s-2"));

    String databaseUrl = "postgresql://app:" + URLEncoder.encode(pgPassword, StandardCharsets.UTF_8) + "@127.0.0.1:" + pg.port()
        + "/app";

    // On purpose: a wrong Redis password at start-up ends the coordinator (exit 2, one line).
    Process wrong = fleet.startCoordinatorAgainst(databaseUrl, redis.url("not-" + redis.password()), null, "wrong-redis-password.log");
    assertThat(wrong.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(wrong.exitValue()).isEqualTo(2);
    assertThat(Files.readString(fleet.dir.resolve("wrong-redis-password.log"))).contains("WRONGPASS");

    // The real run: the backup command reads DATABASE_URL (the password in it), as pg_dump would.
    Path migrations = fleet.migrations("story");
    fleet.configureCoordinators(null, "--backup-command", "pg_dump --schema-only \"$DATABASE_URL\" > /dev/null");
    fleet.startCoordinatorAgainst(databaseUrl, redis.url(), migrations, "coordinator.log");
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
      assertThat(fleet.coordinator().isAlive()).as("coordinator exited; see coordinator.log").isTrue();
      return get("/ready", null).statusCode() == 200;
    });
    fleet.startAgent("s-1", "v0", migrations);
    fleet.startAgent("s-2", "v0", migrations);
    fleet.awaitAgents("s-1", "s-2");

    Fleet.CliRun release = fleet.cli("release", "--revision", "v1", "--service", fleet.service);
    assertThat(release.exit()).as(release.err()).isZero();
    for (String command : List.of("status", "agents", "current", "history", "check")) {
      fleet.cli(command, "--service", fleet.service);
    }
    fleet.cli("release", "--revision", "v1", "--service", fleet.service, "--json");

    // On purpose: a broken migration, uploaded from a build's folder.
    Path broken = fleet.folder("broken-build", Map.of(
        "V1__create_users.sql", Files.readString(migrations.resolve("V1__create_users.sql")),
        "V2__create_orders.sql", Files.readString(migrations.resolve("V2__create_orders.sql")),
        "V3__broken.sql", "ALTER TABLE no_such_table ADD COLUMN price numeric;"));
    Fleet.CliRun failed = fleet.cli("release", "--revision", "v2", "--migrations", broken.toString(), "--service", fleet.service);
    assertThat(failed.exit()).as("a broken migration does not complete").isNotZero();

    // On purpose: requests that are wrong, each answered with an error body.
    collect(post("/v1/releases", "{not json", Fleet.OPERATOR_TOKEN), 400);
    collect(post("/v1/releases", "{\"revision\": 7}", Fleet.OPERATOR_TOKEN), 400);
    collect(post("/v1/releases", "{\"revision\":\"v3\"}", Fleet.agentToken(fleet.service, "s-1")), 0);
    collect(get("/v1/agents", Fleet.OPERATOR_TOKEN + "x"), 401);
    collect(get("/v1/agents", Fleet.agentToken(fleet.service, "s-1")), 0);
    collect(send(HttpRequest.newBuilder(URI.create(fleet.url() + "/v1/agents/s-9"))
        .header("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN).header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString("{\"service\":\"" + fleet.service + "\"}"))), 0);
    collect(get("/v1/releases/r-no-such-release", Fleet.OPERATOR_TOKEN), 404);
    // The CLI given the agents' token: refused, and it must not print the token back.
    Fleet.CliRun refused = cli(Fleet.agentToken(fleet.service, "s-1"), "status", "--service", fleet.service);
    assertThat(refused.exit()).isNotZero();

    // Everything the coordinator shows: every release document, the fleet, the endpoints.
    List<Map<String, Object>> releases = releasesOf(get("/v1/releases?service=" + fleet.service + "&limit=100",
        Fleet.OPERATOR_TOKEN));
    assertThat(releases).hasSizeGreaterThanOrEqualTo(2);
    for (Map<String, Object> r : releases) {
      collect(get("/v1/releases/" + r.get("id"), Fleet.OPERATOR_TOKEN), 200);
    }
    for (String path : List.of("/health", "/ready", "/metrics", "/v1/agents?service=" + fleet.service,
        "/v1/agents/s-1?service=" + fleet.service, "/v1/migrations?service=" + fleet.service)) {
      collect(get(path, Fleet.OPERATOR_TOKEN), 200);
    }
    assertThat(fleet.agentList()).extracting(a -> a.revision()).containsOnly("v1");

    // On purpose, last: Redis gone, so /health, /ready and a release answer with the store's own words.
    redis.close();
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> get("/ready", null).statusCode() == 503);
    collect(get("/health", null), 503);
    collect(get("/ready", null), 503);
    collect(post("/v1/releases", "{\"revision\":\"v4\"}", Fleet.OPERATOR_TOKEN), 503);

    // The search itself finds a secret in either form, in a file as in a body.
    Path canary = fleet.dir.resolve("canary.log");
    Files.writeString(canary, "url " + URLEncoder.encode(pgPassword, StandardCharsets.UTF_8) + "\n");
    bodies.add("{\"detail\":\"" + redis.password() + "\"}");
    assertThat(leaks()).containsExactly("PostgreSQL password (URL-encoded) in canary.log:1",
        "Redis password in HTTP body " + (bodies.size() - 1) + ": {\"detail\":\"" + redis.password() + "\"}");
    Files.delete(canary);
    bodies.remove(bodies.size() - 1);

    List<String> leaks = leaks();
    assertThat(leaks).as("secrets found").isEmpty();
    System.out.printf("SecretsIT: %d secrets (%s), %d forms in all, looked for in %d files (%d lines) and %d HTTP bodies: none found%n",
        secrets.size(), String.join(", ", secrets.keySet()), secrets.values().stream().mapToInt(v -> forms(v).size()).sum(),
        logFiles().size(), lines(), bodies.size());
  }

  /** Each secret as it is and URL-encoded (both ways of writing a space). */
  private static Set<String> forms(String secret) {
    String encoded = URLEncoder.encode(secret, StandardCharsets.UTF_8);
    return new LinkedHashSet<>(List.of(secret, encoded, encoded.replace("+", "%20")));
  }

  /** "agent token (URL-encoded) in agent-s-1.log:12", one per secret, form and place. */
  private List<String> leaks() throws IOException {
    List<String> found = new ArrayList<>();
    for (Path file : logFiles()) {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      for (int i = 0; i < lines.size(); i++) {
        for (String hit : hits(lines.get(i))) {
          found.add(hit + " in " + fleet.dir.relativize(file) + ":" + (i + 1));
        }
      }
    }
    for (int i = 0; i < bodies.size(); i++) {
      for (String hit : hits(bodies.get(i))) {
        found.add(hit + " in HTTP body " + i + ": " + bodies.get(i).substring(0, Math.min(200, bodies.get(i).length())));
      }
    }
    return found;
  }

  private List<String> hits(String text) {
    List<String> hits = new ArrayList<>();
    secrets.forEach((name, secret) -> {
      for (String form : forms(secret)) {
        if (text.contains(form)) {
          hits.add(name + (form.equals(secret) ? "" : " (URL-encoded)"));
        }
      }
    });
    return hits;
  }

  /** Every file the run wrote in its folder: coordinator, agent and Redis logs, CLI output, hook lines. */
  private List<Path> logFiles() throws IOException {
    try (Stream<Path> files = Files.list(fleet.dir)) {
      return files.filter(Files::isRegularFile)
          .filter(f -> f.getFileName().toString().matches(".*\\.(log|out|err)")).sorted().toList();
    }
  }

  private long lines() throws IOException {
    long n = 0;
    for (Path f : logFiles()) {
      n += Files.readAllLines(f, StandardCharsets.UTF_8).size();
    }
    return n;
  }

  /** Keeps the body; {@code status} 0 accepts any 4xx. */
  private void collect(HttpResponse<String> response, int status) {
    bodies.add(response.body());
    if (status == 0) {
      assertThat(response.statusCode()).as(response.body()).isBetween(400, 499);
    } else {
      assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    }
  }

  @SuppressWarnings("unchecked")
  private List<Map<String, Object>> releasesOf(HttpResponse<String> response) {
    bodies.add(response.body());
    Object parsed = Json.read(response.body(), Object.class);
    if (parsed instanceof Map<?, ?> m && m.get("releases") instanceof List<?> list) {
      return (List<Map<String, Object>>) list;
    }
    return (List<Map<String, Object>>) parsed;
  }

  private HttpResponse<String> get(String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fleet.url() + path)).GET();
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return send(b);
  }

  private HttpResponse<String> post(String path, String body, String token) throws Exception {
    return send(HttpRequest.newBuilder(URI.create(fleet.url() + path)).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The CLI with arguments of the test's choosing (its own token), output kept in this test's folder. */
  private Fleet.CliRun cli(String token, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        System.getProperty("lockstep.coordinatorJar")));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("--coordinator", fleet.url(), "--token", token));
    Path out = fleet.dir.resolve("cli-own-" + System.nanoTime() + ".out");
    Path err = fleet.dir.resolve("cli-own-" + System.nanoTime() + ".err");
    Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new Fleet.CliRun(p.exitValue(), Files.readString(out), Files.readString(err));
  }

}
