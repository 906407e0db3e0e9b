package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.ScratchPostgres;
import dev.lockstep.testkit.TestCertificates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The stores over TLS, as real processes: a PostgreSQL cluster of the test's own with {@code ssl=on},
 * a certificate from a CA the test made, and {@code hostssl} lines only (so a cleartext connection is
 * refused outright), and a Redis that speaks TLS only and lets in one ACL user. A coordinator and a
 * real agent run a release; {@code pg_stat_ssl} shows TLS on every backend of the coordinator while it
 * runs and after the release, and the server's connection log shows TLS on every connection it ever
 * opened, whichever part of the coordinator opened it. A certificate for another host, a URL without
 * TLS, and a Redis CA the coordinator was not given each end start-up with exit status 2 and one line.
 */
class StoreTlsIT {
  /** This test's own sessions, told apart from the coordinator's. */
  private static final String SAMPLER = "StoreTlsIT-sampler";
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private Fleet fleet;
  private TestCertificates certs;

  @BeforeEach
  void prerequisites(TestInfo test) {
    Assumptions.assumeTrue(ScratchPostgres.binaries().isPresent(), "needs PostgreSQL's initdb for a TLS cluster of its own");
    Assumptions.assumeTrue(TestCertificates.available(), "needs openssl to make certificates");
    Assumptions.assumeTrue(RedisServer.available(), "needs redis-server");
    fleet = new Fleet("StoreTlsIT-" + test.getDisplayName().replaceAll("[^A-Za-z0-9-]+", "_"), null);
    certs = TestCertificates.create(fleet.dir.resolve("certs-" + UUID.randomUUID().toString().substring(0, 8)));
  }

  @AfterEach
  void stop() throws Exception {
    if (fleet != null) {
      fleet.kill();
    }
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  @ParameterizedTest(name = "sslmode={0}")
  @ValueSource(strings = {"require", "verify-full"})
  void aReleaseUsesTlsOnEveryPostgresConnectionOfTheCoordinator(String sslmode) throws Exception {
    ScratchPostgres pg = tlsPostgres("DNS:localhost", "IP:127.0.0.1");
    SecuredRedis redis = tlsRedis();
    String url = "postgresql://postgres:" + pg.password() + "@127.0.0.1:" + pg.port() + "/postgres?sslmode=" + sslmode
        + ("verify-full".equals(sslmode) ? "&sslrootcert=" + certs.caCert() : "");
    Path migrations = fleet.migrations("story");
    // The backup command's libpq connection (DATABASE_URL) says for itself whether it uses TLS.
    Path backupSaw = fleet.dir.resolve("backup-ssl.txt");
    Files.deleteIfExists(backupSaw);
    fleet.configureCoordinators(null, "--redis-ca-cert", certs.caCert().toString(), "--backup-command",
        "psql \"$DATABASE_URL\" -Atc 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' > " + backupSaw);
    fleet.startCoordinatorAgainst(url, redis.url(), migrations, "coordinator.log");
    awaitReady();
    fleet.startAgent("tls-1", "v0", migrations);
    fleet.awaitAgents("tls-1");

    // Sampled all through the release, so short-lived sessions (migration, info, pre-flight) are seen too.
    Map<String, Boolean> seen = new ConcurrentHashMap<>();
    AtomicBoolean sampling = new AtomicBoolean(true);
    Thread sampler = new Thread(() -> {
      while (sampling.get()) {
        try {
          backends(pg).forEach((name, ssl) -> seen.merge(name, ssl, Boolean::logicalAnd));
          Thread.sleep(50); // the sampling period, not a wait: sessions are caught while they exist
        } catch (SQLException | InterruptedException e) {
          return;
        }
      }
    }, "pg_stat_ssl-sampler");
    sampler.start();
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
    ReleaseDocument end = await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300))
        .until(() -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    fleet.cli("history", "--service", fleet.service);
    sampling.set(false);
    sampler.join(5_000);
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(fleet.deployedRevision("tls-1")).isEqualTo("v1");
    assertThat(Files.readString(backupSaw).strip()).as("the backup command's connection used TLS").isEqualTo("t");

    Map<String, Boolean> after = backends(pg);
    System.out.printf("StoreTlsIT sslmode=%s: backends during the release %s, after it %s%n", sslmode, seen, after);
    assertThat(after).as("the coordinator's pool stays connected").containsKey("lockstep-coordinator/" + fleet.service);
    assertThat(after.values()).as("ssl of every backend after the release: " + after).containsOnly(true);
    assertThat(seen.values()).as("ssl of every backend during the release: " + seen).containsOnly(true);
    assertThat(seen.keySet()).contains("lockstep-coordinator/" + fleet.service);

    // Every connection the server accepted, however short: the connection log says whether it used TLS. (Its
    // application name is there when the client sent it at start-up; pgjdbc's own connections set theirs just after.)
    List<String> authorized = Files.readAllLines(pg.serverLog()).stream().filter(l -> l.contains("connection authorized"))
        .filter(l -> !l.contains("application_name=" + SAMPLER)).toList();
    Set<String> names = new TreeSet<>(seen.keySet());
    for (String line : authorized) {
      int at = line.indexOf("application_name=");
      if (at >= 0) {
        names.add(line.substring(at + "application_name=".length()).split(" ")[0]);
      }
    }
    System.out.printf("StoreTlsIT sslmode=%s: %d connections of the coordinator, application names %s%n", sslmode,
        authorized.size(), names);
    assertThat(authorized).as("connections the server accepted").hasSizeGreaterThan(5)
        .allSatisfy(l -> assertThat(l).contains("SSL enabled"));
    assertThat(names).contains("lockstep-coordinator/" + fleet.service, "lockstep-migrate/" + fleet.service,
        "lockstep-info/" + fleet.service, "lockstep-run/" + fleet.service);
    assertThat(Files.readString(pg.serverLog())).doesNotContain("no encryption");
    assertThat(Files.readString(fleet.dir.resolve("coordinator.log"))).doesNotContain(pg.password()).doesNotContain(redis.password());
  }

  /**
   * A certificate for another host under {@code verify-full}, a URL that asks for no TLS against a server that
   * wants it, and a TLS Redis whose CA the coordinator was not given: each a configuration error, one line, exit 2.
   */
  @Test
  void aWrongHostACleartextUrlAndAnUntrustedRedisEachEndStartUpWithOneLine() throws Exception {
    ScratchPostgres pg = tlsPostgres("DNS:db.example.internal");
    SecuredRedis redis = tlsRedis();
    String base = "postgresql://postgres:" + pg.password() + "@127.0.0.1:" + pg.port() + "/postgres";
    fleet.configureCoordinators(null, "--redis-ca-cert", certs.caCert().toString());

    assertThat(exitsWith(base + "?sslmode=verify-full&sslrootcert=" + certs.caCert(), redis.url(), "wrong-host.log")).isEqualTo(2);
    assertThat(configurationError("wrong-host.log"))
        .contains("PostgreSQL at postgresql://postgres:***@127.0.0.1:" + pg.port() + "/postgres?sslmode=verify-full")
        .contains("127.0.0.1").contains("does not name the host");

    assertThat(exitsWith(base + "?sslmode=disable", redis.url(), "cleartext.log")).isEqualTo(2);
    assertThat(configurationError("cleartext.log")).contains("sslmode=disable").contains("no pg_hba.conf entry")
        .contains("no encryption");

    // The same certificate checked only against the CA (verify-ca) is fine: the host name is not its business.
    fleet.configureCoordinators(null);
    assertThat(exitsWith(base + "?sslmode=verify-ca&sslrootcert=" + certs.caCert(), redis.url(), "untrusted-redis.log"))
        .isEqualTo(2);
    assertThat(configurationError("untrusted-redis.log")).contains("Redis at rediss://lockstep:***@127.0.0.1:" + redis.port())
        .contains("--redis-ca-cert");

    String logs = Files.readString(fleet.dir.resolve("wrong-host.log")) + Files.readString(fleet.dir.resolve("cleartext.log"))
        + Files.readString(fleet.dir.resolve("untrusted-redis.log"));
    assertThat(logs).doesNotContain(pg.password()).doesNotContain(redis.password());
  }

  private ScratchPostgres tlsPostgres(String... subjectAltNames) {
    ScratchPostgres pg = ScratchPostgres.startWithTls(certs.serverFor("pg-" + UUID.randomUUID().toString().substring(0, 6),
        subjectAltNames));
    cleanup.add(pg);
    // The cluster's folder goes with it: its connection log stays with the test's other logs.
    cleanup.add(() -> Files.copy(pg.serverLog(), fleet.dir.resolve("postgres-" + pg.port() + ".log"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING));
    return pg;
  }

  private SecuredRedis tlsRedis() {
    SecuredRedis redis = SecuredRedis.start(fleet.dir, "lockstep", "redis-pw-" + UUID.randomUUID(),
        certs.serverFor("redis-" + UUID.randomUUID().toString().substring(0, 6), "DNS:localhost", "IP:127.0.0.1"));
    cleanup.add(redis);
    return redis;
  }

  /** Application name → whether every backend of that name uses TLS; all client backends but this test's own. */
  private static Map<String, Boolean> backends(ScratchPostgres pg) throws SQLException {
    Map<String, Boolean> byName = new java.util.TreeMap<>();
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + pg.port() + "/postgres?sslmode=require"
        + "&ApplicationName=" + SAMPLER + "&assumeMinServerVersion=10", "postgres", pg.password());
         Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT a.application_name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)"
             + " WHERE a.backend_type = 'client backend' AND a.application_name <> '" + SAMPLER + "'")) {
      while (rs.next()) {
        byName.merge(rs.getString(1), rs.getBoolean(2), Boolean::logicalAnd);
      }
    }
    return byName;
  }

  private void awaitReady() {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
      assertThat(fleet.coordinator().isAlive()).as("coordinator exited; see " + fleet.dir.resolve("coordinator.log")).isTrue();
      return fleet.api().get("/ready", Map.class) != null;
    });
  }

  private int exitsWith(String databaseUrl, String redisUrl, String logName) throws InterruptedException {
    return fleet.exitStatusAgainst(databaseUrl, redisUrl, logName, Duration.ofSeconds(30));
  }

  private String configurationError(String logName) throws IOException {
    return fleet.configurationError(logName);
  }
}
