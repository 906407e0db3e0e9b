package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TcpProxy;
import dev.lockstep.testkit.ScratchPostgres;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import dev.lockstep.testkit.TestRedis;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The coordinator without its stores, as real processes: started while PostgreSQL (behind a
 * {@link TcpProxy} that is cut) or Redis (a server of the test's own, not started yet) is out of
 * reach it stays up, says so on {@code /health} and {@code /ready}, logs one line and no stack, and
 * serves once the store is back; a store cut after start-up makes new releases 503 until it
 * returns; a wrong database, role or password ends it with exit status 2 and one line. No log line
 * ever shows a password from the URLs.
 */
class DependencyOutageIT {
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final String LOG = "coordinator.log";

  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private TestDatabase db;
  private Fleet fleet;

  private void fleet(TestInfo test) {
    String name = "DependencyOutageIT-" + test.getTestMethod().orElseThrow().getName();
    db = TestPostgres.instance().createDatabase("DependencyOutageIT");
    fleet = new Fleet(name, db);
  }

  @AfterEach
  void stop() throws Exception {
    if (fleet != null) {
      fleet.close();
    }
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
    if (db != null) {
      db.close();
    }
  }

  @Test
  void startedWhilePostgresIsUnreachableItWaitsNotReadyAndServesOnceItIsBack(TestInfo test) throws Exception {
    fleet(test);
    TcpProxy proxy = proxy();
    proxy.cut();
    String password = postgresPassword();
    Path migrations = fleet.migrations("story");
    fleet.coordinatorEnvironment("LOCKSTEP_LOG_LEVEL", "DEBUG"); // a line per failed attempt
    fleet.startCoordinatorAgainst(postgresUrl(proxy, db.name(), db.user(), password), TestRedis.url(), migrations, LOG);
    awaitListening();

    HttpResponse<String> ready = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
        .until(() -> get("/ready"), r -> r.statusCode() == 503 && r.body().contains("PostgreSQL unreachable"));
    assertThat(ready.body()).contains("\"ready\":false").contains("Connection refused").doesNotContain("Redis unreachable");
    Map<String, Object> health = await().atMost(Duration.ofSeconds(10)).until(() -> json(get("/health")), h -> "ok".equals(h.get("redis")));
    assertThat(health.get("status")).isEqualTo("degraded");
    assertThat(health.get("ready")).isEqualTo(false);
    assertThat((String) health.get("database")).startsWith("down: ");
    assertThat(health.get("databaseDownSince")).isNotNull();
    assertThat(health).doesNotContainKey("redisDownSince");
    ErrorBody refused = error(post("/v1/releases", Json.write(ReleaseRequest.of("v1", null))), 503);
    assertThat(refused.error()).isEqualTo("unavailable");
    assertThat(refused.detail()).contains("starting").contains("PostgreSQL unreachable");

    // Several retries (0.5 s, 1 s, 2 s apart), each logged at DEBUG as it fails: still one line for the outage.
    awaitFailedAttempts("PostgreSQL", 4);
    assertThat(fleet.coordinator().isAlive()).isTrue();
    assertThat(logLines("PostgreSQL at ", "unreachable")).hasSize(1).first().asString()
        .contains("postgresql://" + db.user()).contains("127.0.0.1:" + proxy.port() + "/" + db.name())
        .contains("Connection refused").contains("not ready");
    assertThat(stackLines()).isZero();

    proxy.restore();
    long restored = System.nanoTime();
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> get("/ready").statusCode() == 200);
    System.out.printf("DependencyOutageIT: ready %d ms after PostgreSQL came back%n", (System.nanoTime() - restored) / 1_000_000);
    assertThat(get("/ready").body()).isEqualTo("{\"ready\":true}");
    assertThat(json(get("/health"))).containsEntry("status", "ok").containsEntry("database", "ok").containsEntry("ready", true);
    assertThat(logLines("PostgreSQL at ", "reachable again")).hasSize(1);

    releaseCompletes(migrations);
    assertThat(stackLines()).isZero();
    assertThat(log()).doesNotContain(password);
  }

  @Test
  void startedBeforeItsRedisItWaitsNotReadyAndServesOnceRedisAnswers(TestInfo test) throws Exception {
    fleet(test);
    OwnRedis redis = ownRedis();
    Path migrations = fleet.migrations("story");
    fleet.coordinatorEnvironment("LOCKSTEP_LOG_LEVEL", "DEBUG"); // a line per failed attempt
    fleet.startCoordinatorAgainst(db.postgresUrl(), redis.url(redis.password()), migrations, LOG);
    awaitListening();

    HttpResponse<String> ready = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300))
        .until(() -> get("/ready"), r -> r.statusCode() == 503 && r.body().contains("Redis unreachable"));
    assertThat(ready.body()).contains("Connection refused").doesNotContain("PostgreSQL unreachable");
    Map<String, Object> health = await().atMost(Duration.ofSeconds(10)).until(() -> json(get("/health")), h -> "ok".equals(h.get("database")));
    assertThat(health.get("status")).isEqualTo("degraded");
    assertThat((String) health.get("redis")).startsWith("down: ");
    assertThat(health.get("redisDownSince")).isNotNull();

    awaitFailedAttempts("Redis", 4);
    assertThat(fleet.coordinator().isAlive()).isTrue();
    assertThat(logLines("Redis at ", "unreachable")).hasSize(1).first().asString()
        .contains("redis://:***@127.0.0.1:" + redis.port()).contains("Connection refused");
    assertThat(stackLines()).isZero();

    startRedis(redis);
    long started = System.nanoTime();
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> get("/ready").statusCode() == 200);
    System.out.printf("DependencyOutageIT: ready %d ms after Redis started%n", (System.nanoTime() - started) / 1_000_000);
    assertThat(json(get("/health"))).containsEntry("status", "ok").containsEntry("redis", "ok");
    assertThat(logLines("Redis at ", "reachable again")).hasSize(1);

    releaseCompletes(migrations);
    assertThat(stackLines()).isZero();

    // After start-up too: Redis gone means no new release, and its return means work again, without a restart.
    stopRedis();
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> get("/ready").statusCode() == 503);
    assertThat(get("/ready").body()).contains("Redis unreachable").doesNotContain("PostgreSQL unreachable");
    ErrorBody refused = error(post("/v1/releases", Json.write(ReleaseRequest.of("v2", null))), 503);
    assertThat(refused.detail()).startsWith("Redis is unavailable");
    startRedis(redis);
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> get("/ready").statusCode() == 200);
    assertThat(logLines("Redis at ", "unreachable")).hasSize(2);
    assertThat(log()).doesNotContain(redis.password());
  }

  @Test
  void anUnknownDatabaseOrRoleIsAConfigurationErrorExit2WithOneLine(TestInfo test) throws Exception {
    fleet(test);
    String password = "pg-pw-" + UUID.randomUUID();
    String host = TestPostgres.instance().host() + ":" + TestPostgres.instance().port();

    String noDatabase = "lockstep_no_such_db_" + UUID.randomUUID().toString().substring(0, 8);
    assertThat(exitsWith("postgresql://" + db.user() + ":" + password + "@" + host + "/" + noDatabase, TestRedis.url(), "no-db.log"))
        .isEqualTo(2);
    assertThat(configurationError("no-db.log")).contains("PostgreSQL at postgresql://" + db.user() + ":***@" + host + "/" + noDatabase)
        .contains("database \"" + noDatabase + "\" does not exist").contains("3D000");

    String noRole = "lockstep_no_such_role_" + UUID.randomUUID().toString().substring(0, 8);
    assertThat(exitsWith("postgresql://" + noRole + ":" + password + "@" + host + "/" + db.name(), TestRedis.url(), "no-role.log"))
        .isEqualTo(2);
    assertThat(configurationError("no-role.log")).contains("PostgreSQL at postgresql://" + noRole + ":***@")
        .contains("role \"" + noRole + "\"").contains("28000");
    assertThat(Files.readString(fleet.dir.resolve("no-db.log")) + Files.readString(fleet.dir.resolve("no-role.log")))
        .doesNotContain(password);
  }

  /**
   * A wrong PostgreSQL password is SQL state 28P01, but only where the server asks for one. This machine's
   * shared server trusts 127.0.0.1, so the test starts a cluster of its own that asks (scram-sha-256).
   */
  @Test
  void aWrongPostgresPasswordIsAConfigurationErrorExit2(TestInfo test) throws Exception {
    fleet(test);
    Assumptions.assumeTrue(ScratchPostgres.binaries().isPresent(), "needs PostgreSQL's initdb for a cluster that asks for passwords");
    try (ScratchPostgres scratch = ScratchPostgres.start()) {
      String host = "127.0.0.1:" + scratch.port();
      String wrong = "wrong-pw-" + UUID.randomUUID();
      assertThat(connects("jdbc:postgresql://" + host + "/postgres", "postgres", scratch.password()))
          .as("the right password connects").isTrue();
      assertThat(connects("jdbc:postgresql://" + host + "/postgres", "postgres", wrong)).as("a wrong one does not").isFalse();

      assertThat(exitsWith("postgresql://postgres:" + wrong + "@" + host + "/postgres", TestRedis.url(), "wrong-pw.log"))
          .isEqualTo(2);
      assertThat(configurationError("wrong-pw.log")).contains("PostgreSQL at postgresql://postgres:***@").contains("28P01");
      assertThat(Files.readString(fleet.dir.resolve("wrong-pw.log"))).doesNotContain(wrong);
    }
  }

  @Test
  void aWrongOrMissingRedisPasswordIsAConfigurationErrorExit2WithOneLine(TestInfo test) throws Exception {
    fleet(test);
    OwnRedis redis = ownRedis();
    startRedis(redis);

    String wrong = "wrong-pw-" + UUID.randomUUID();
    assertThat(exitsWith(db.postgresUrl(), redis.url(wrong), "wrong-pw.log")).isEqualTo(2);
    assertThat(configurationError("wrong-pw.log")).contains("Redis at redis://:***@127.0.0.1:" + redis.port()).contains("WRONGPASS");

    assertThat(exitsWith(db.postgresUrl(), redis.url(null), "no-pw.log")).isEqualTo(2);
    assertThat(configurationError("no-pw.log")).contains("Redis at redis://127.0.0.1:" + redis.port()).contains("NOAUTH");
    assertThat(Files.readString(fleet.dir.resolve("wrong-pw.log")) + Files.readString(fleet.dir.resolve("no-pw.log")))
        .doesNotContain(wrong).doesNotContain(redis.password());
  }

  @Test
  void postgresCutAfterStartUpRefusesNewReleasesWith503UntilItIsBack(TestInfo test) throws Exception {
    fleet(test);
    TcpProxy proxy = proxy();
    String password = postgresPassword();
    Path migrations = fleet.migrations("story");
    fleet.startCoordinatorAgainst(postgresUrl(proxy, db.name(), db.user(), password), TestRedis.url(), migrations, LOG);
    awaitListening();
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> get("/ready").statusCode() == 200);
    fleet.startAgent("o-1", "v0", migrations);
    fleet.awaitAgents("o-1");

    proxy.cut();
    HttpResponse<String> ready = get("/ready");
    assertThat(ready.statusCode()).as(ready.body()).isEqualTo(503);
    assertThat(ready.body()).contains("PostgreSQL unreachable");
    HttpResponse<String> healthResponse = get("/health");
    assertThat(healthResponse.statusCode()).isEqualTo(503);
    Map<String, Object> health = json(healthResponse);
    assertThat(health.get("status")).isEqualTo("degraded");
    assertThat((String) health.get("database")).startsWith("down: ");
    assertThat(health.get("redis")).isEqualTo("ok");
    assertThat(health.get("databaseDownSince")).isNotNull();

    long asked = System.nanoTime();
    ErrorBody release = error(post("/v1/releases", Json.write(ReleaseRequest.of("v1", null))), 503);
    assertThat(Duration.ofNanos(System.nanoTime() - asked)).isLessThan(Duration.ofSeconds(5));
    assertThat(release.error()).isEqualTo("unavailable");
    assertThat(release.detail()).startsWith("PostgreSQL is unavailable (unreachable since ").doesNotContain("Redis");
    ErrorBody check = error(post("/v1/check", "{}"), 503);
    assertThat(check.error()).isEqualTo("unavailable");
    assertThat(check.detail()).startsWith("PostgreSQL is unavailable");
    assertThat(fleet.coordinator().isAlive()).isTrue();

    proxy.restore();
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> get("/ready").statusCode() == 200);
    assertThat(json(get("/health"))).containsEntry("status", "ok").containsEntry("database", "ok");
    assertThat(logLines("PostgreSQL at ", "unreachable")).hasSize(1);
    assertThat(logLines("PostgreSQL at ", "reachable again")).hasSize(1);
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
    ReleaseDocument end = awaitEnd(started);
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(log()).doesNotContain(password);
  }

  /** Start-up answers HTTP before it reaches any store. */
  private void awaitListening() {
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
      assertThat(fleet.coordinator().isAlive()).as("coordinator exited; see " + fleet.dir.resolve(LOG)).isTrue();
      return get("/health").statusCode() > 0;
    });
  }

  /** Waits until the coordinator has logged (at DEBUG) {@code attempts} failed start-up attempts to reach {@code store}. */
  private void awaitFailedAttempts(String store, int attempts) {
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .until(() -> logLines(store + " attempt ", " failed (").size() >= attempts);
  }

  private void releaseCompletes(Path migrations) {
    fleet.startAgent("a-1", "v0", migrations);
    fleet.awaitAgents("a-1");
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
    ReleaseDocument end = awaitEnd(started);
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE success")).isEqualTo(2);
  }

  private ReleaseDocument awaitEnd(ReleaseDocument started) {
    return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(
        () -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
  }

  /** Starts a coordinator that is expected to end by itself; its exit status. */
  private int exitsWith(String databaseUrl, String redisUrl, String logName) throws InterruptedException {
    long started = System.nanoTime();
    int status = fleet.exitStatusAgainst(databaseUrl, redisUrl, logName, Duration.ofSeconds(20));
    System.out.printf("DependencyOutageIT: %s exited %d after %d ms%n", logName, status, (System.nanoTime() - started) / 1_000_000);
    return status;
  }

  /** The one line a configuration error leaves, checked to be the only one of its kind and free of stacks. */
  private String configurationError(String logName) throws IOException {
    String error = fleet.configurationError(logName);
    assertThat(Files.readAllLines(fleet.dir.resolve(logName))).filteredOn(l -> l.contains("unreachable")).isEmpty();
    return error;
  }

  private TcpProxy proxy() {
    TcpProxy proxy = new TcpProxy(TestPostgres.instance().host(), TestPostgres.instance().port());
    cleanup.add(proxy);
    return proxy;
  }

  /** The server's password if it has one; else (trust) one of our own, which the server ignores and the log must not show. */
  private String postgresPassword() {
    return db.password().isEmpty() ? "pg-pw-" + UUID.randomUUID() : db.password();
  }

  private static String postgresUrl(TcpProxy proxy, String database, String user, String password) {
    return "postgresql://" + user + ":" + password + "@127.0.0.1:" + proxy.port() + "/" + database;
  }

  private static boolean connects(String jdbcUrl, String user, String password) {
    try (var c = DriverManager.getConnection(jdbcUrl, user, password)) {
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  /** Where a Redis of this test's own will listen (it is not started yet), and the password it will want. */
  private record OwnRedis(int port, String password) {
    String url(String withPassword) {
      return "redis://" + (withPassword == null ? "" : ":" + withPassword + "@") + "127.0.0.1:" + port;
    }
  }

  private static OwnRedis ownRedis() throws InterruptedException {
    assumeRedisServer();
    return new OwnRedis(Fleet.freePort(), "redis-pw-" + UUID.randomUUID());
  }

  private static void assumeRedisServer() throws InterruptedException {
    boolean found;
    try {
      found = new ProcessBuilder("redis-server", "--version").redirectErrorStream(true).start().waitFor() == 0;
    } catch (IOException e) {
      found = false;
    }
    Assumptions.assumeTrue(found, "needs redis-server on the PATH to run a Redis of the test's own");
  }

  private Process redisServer;

  /** A Redis of this test's own (a child process, stopped after the test), accepting connections before this returns. */
  private void startRedis(OwnRedis own) throws IOException {
    int port = own.port();
    redisServer = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--requirepass", own.password(), "--save", "", "--appendonly", "no")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(fleet.dir.resolve("redis-" + port + ".log").toFile()))
        .start();
    cleanup.add(this::stopRedis);
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      try (var s = new java.net.Socket("127.0.0.1", port)) {
        return true;
      } catch (IOException notYet) {
        return false;
      }
    });
  }

  private void stopRedis() throws InterruptedException {
    if (redisServer != null) {
      redisServer.destroy();
      redisServer.waitFor(10, TimeUnit.SECONDS);
      redisServer = null;
    }
  }

  private HttpResponse<String> get(String path) throws Exception {
    return send(HttpRequest.newBuilder(URI.create(fleet.url() + path)).GET());
  }

  private HttpResponse<String> post(String path, String body) throws Exception {
    return send(HttpRequest.newBuilder(URI.create(fleet.url() + path)).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN).POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> json(HttpResponse<String> response) {
    return Json.read(response.body(), Map.class);
  }

  private static ErrorBody error(HttpResponse<String> response, int status) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    return Json.read(response.body(), ErrorBody.class);
  }

  private String log() throws IOException {
    return Files.readString(fleet.dir.resolve(LOG));
  }

  private List<String> logLines(String... containing) throws IOException {
    return log().lines().filter(l -> List.of(containing).stream().allMatch(l::contains)).toList();
  }

  private long stackLines() throws IOException {
    return log().lines().filter(l -> l.startsWith("\tat ")).count();
  }

}
