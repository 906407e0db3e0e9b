package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.testkit.TestCertificates;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import dev.lockstep.testkit.TestRedis;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Transport security, with a CA, certificates and processes of the test's own: a coordinator serving HTTPS with
 * mutual TLS, three real agents that each present their own certificate, and the CLI over HTTPS. An agent's
 * certificate is good for that agent only; a client without a certificate, or one that does not trust the
 * coordinator's CA, gets no connection; cleartext to the TLS port gets nothing; a renewed certificate is
 * served without a restart, and a broken one is refused while the old one stays.
 */
class TlsIT {
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path migrations;
  private static TestCertificates ca;
  private static TestCertificates stranger;
  private static TestCertificates.Issued operator;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("TlsIT");
    fleet = new Fleet("TlsIT", db);
    // The assertions read the logs: start them afresh (the fleet appends to the logs of earlier runs).
    try (var files = Files.list(fleet.dir)) {
      for (Path p : files.filter(f -> f.getFileName().toString().endsWith(".log")).toList()) {
        Files.delete(p);
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    ca = TestCertificates.create(fleet.dir.resolve("ca"));
    stranger = TestCertificates.create(fleet.dir.resolve("stranger-ca"));
    operator = ca.operator("alice");
    fleet.useTls(ca, ca.server("server"), operator, true);
    migrations = fleet.migrations("story");
    fleet.startCoordinator(migrations);
    for (String id : List.of("web-1", "web-2", "web-3")) {
      fleet.startAgent(id, "v0", migrations);
    }
    fleet.awaitAgents("web-1", "web-2", "web-3");
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
    db.close();
  }

  @Test
  void aReleaseCompletesOverHttpsWithMutualTls() throws Exception {
    assertThat(fleet.url()).startsWith("https://");
    Fleet.CliRun release = fleet.cli("release", "--revision", "v1", "--schema", "1");
    assertThat(release.exit()).as(release.out() + release.err()).isZero();
    assertThat(release.out()).contains("COMPLETED");

    List<String> hooks = fleet.hookLines().stream().filter(l -> l.split(" ")[1].startsWith("web-")).toList();
    assertThat(hooks.stream().filter(l -> l.contains(" prepare ")).count()).isEqualTo(3);
    assertThat(hooks.stream().filter(l -> l.contains(" switch ")).count()).isEqualTo(3);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(fleet.agentList())
        .filteredOn(a -> a.id().startsWith("web-"))
        .extracting(AgentStatus::revision).containsExactly("v1", "v1", "v1"));

    Fleet.CliRun status = fleet.cli("status");
    assertThat(status.exit()).as(status.out() + status.err()).isZero();
    assertThat(status.out()).contains("web-1").contains("web-2").contains("web-3").contains("v1");
    // The audit names the token and, under mutual TLS, the operator's certificate too.
    Fleet.CliRun history = fleet.cli("history");
    assertThat(history.exit()).as(history.out() + history.err()).isZero();
    assertThat(history.out()).contains("operator (certificate alice)");
    // The dashboard is served on the same origin, over TLS.
    assertThat(get(fleet.clientTls(), "/").body()).containsIgnoringCase("<html");
  }

  @Test
  void anAgentsCertificateIsGoodForThatAgentOnly() throws Exception {
    String service = fleet.service;
    // Another certificate of the real agent web-2: good for web-2, refused for web-1.
    SSLContext web2 = ca.clientContext(ca.issue("web-2-copy", "/O=lockstep-test/OU=agent/CN=web-2",
        "subjectAltName=URI:lockstep://agent/" + service + "/web-2", "extendedKeyUsage=clientAuth"));
    HttpResponse<String> forged = report(web2, "web-1", service);
    assertThat(forged.statusCode()).as(forged.body()).isEqualTo(403);
    assertThat(forged.body()).contains("forbidden").contains("agent web-2 of service " + service)
        .contains("agent web-1 of service " + service);
    assertThat(get(web2, "/v1/services/" + service + "/desired", Fleet.agentToken(service, "web-2")).statusCode()).isEqualTo(200);

    // A certificate of the same id in another service is good for nothing here.
    SSLContext elsewhere = ca.clientContext(ca.issue("other-web-1", "/O=lockstep-test/OU=agent/CN=web-1",
        "subjectAltName=URI:lockstep://agent/other-service/web-1", "extendedKeyUsage=clientAuth"));
    HttpResponse<String> crossService = report(elsewhere, "web-1", service);
    assertThat(crossService.statusCode()).isEqualTo(403);
    assertThat(crossService.body()).contains("agent web-1 of service other-service").contains("agent web-1 of service " + service);
    // With a token good for this service, so that the certificate is what refuses.
    HttpResponse<String> read = get(elsewhere, "/v1/services/" + service + "/desired", Fleet.agentToken(service, "web-1"));
    assertThat(read.statusCode()).isEqualTo(403);
    assertThat(read.body()).contains("desired state of service " + service);

    // An operator's certificate is not an agent's.
    HttpResponse<String> byOperator = report(fleet.clientTls(), "web-1", service);
    assertThat(byOperator.statusCode()).isEqualTo(403);
    assertThat(byOperator.body()).contains("CN=alice").contains("names no agent");

    // A real agent process started with web-1's certificate under another id is refused, and never registered.
    TestCertificates.Issued web1Copy = ca.issue("web-1-copy", "/O=lockstep-test/OU=agent/CN=web-1",
        "subjectAltName=URI:lockstep://agent/" + service + "/web-1", "extendedKeyUsage=clientAuth");
    fleet.startAgent(new Fleet.AgentSpec("impostor", "v0", migrations, "", "", List.of("--ca-cert", ca.caCert().toString(),
        "--client-cert", web1Copy.cert().toString(), "--client-key", web1Copy.key().toString())));
    try {
      Path log = fleet.dir.resolve("agent-impostor.log");
      // The refusal itself, not "403": the log's first line names the coordinator's port, which may hold those digits.
      await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(log)
          && Files.readString(log).contains("may not report for agent impostor of service " + service));
      assertThat(fleet.agentList()).extracting(AgentStatus::id).doesNotContain("impostor");
    } finally {
      fleet.killAgent("impostor");
    }
  }

  @Test
  void aClientWithoutACertificateOrWithoutTrustGetsNoConnection() throws Exception {
    // Trusts the coordinator, presents nothing: the coordinator ends the handshake.
    assertThatThrownBy(() -> get(ca.clientContext(null), "/health")).isInstanceOf(IOException.class);
    // A certificate of another CA is no better.
    assertThatThrownBy(() -> get(TestCertificates.context(ca.caCert(), stranger.operator("mallory")), "/health"))
        .isInstanceOf(IOException.class);
    // A client that does not trust the coordinator's CA refuses the coordinator.
    assertThatThrownBy(() -> get(stranger.clientContext(null), "/health"))
        .isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
    // A real agent that trusts the CA but has no certificate of its own never gets through.
    fleet.startAgent(new Fleet.AgentSpec("no-cert", "v0", migrations, "", "", List.of("--ca-cert", ca.caCert().toString())));
    try {
      Path log = fleet.dir.resolve("agent-no-cert.log");
      await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(log)
          && Files.readString(log).contains("cannot reach coordinator " + fleet.url()));
      assertThat(fleet.agentList()).extracting(AgentStatus::id).doesNotContain("no-cert");
    } finally {
      fleet.killAgent("no-cert");
    }
    // The CLI says what to do about it.
    Fleet.CliRun untrusting = cliWithout("--ca-cert");
    assertThat(untrusting.exit()).isEqualTo(4);
    assertThat(untrusting.err()).contains("TLS handshake with the coordinator at " + fleet.url() + " failed")
        .contains("--ca-cert");
  }

  @Test
  void cleartextToTheTlsPortGetsNothing() throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port()), 5_000);
      socket.setSoTimeout(15_000);
      socket.getOutputStream().write(("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
          + Fleet.OPERATOR_TOKEN + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      String answer = new String(readAll(socket.getInputStream()), StandardCharsets.ISO_8859_1);
      assertThat(answer).doesNotContain("HTTP/").doesNotContain("status").doesNotContain("lockstep");
    }
    HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    assertThatThrownBy(() -> plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port() + "/health"))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
  }

  @Test
  void aRenewedCertificateIsServedWithoutARestartAndABrokenOneIsNot() throws Exception {
    long pid = fleet.coordinator().pid();
    BigInteger first = TestCertificates.certificate(fleet.serverCert()).getSerialNumber();
    assertThat(servedSerial()).isEqualTo(first);
    TestCertificates.Issued renewed = ca.server("server-renewed");

    // Half a renewal: the new certificate beside the old key. Refused in one line; the old pair stays.
    replace(renewed.cert(), fleet.serverCert());
    Path log = fleet.dir.resolve("coordinator.log");
    await().atMost(Duration.ofSeconds(20)).until(() -> Files.readString(log).contains("TLS files changed but cannot be used"));
    assertThat(Files.readString(log)).contains("--tls-key " + fleet.serverKey() + ": is not the private key of the certificate");
    assertThat(servedSerial()).isEqualTo(first);

    // The rest of it: new connections see the new certificate; the same process serves them.
    replace(renewed.key(), fleet.serverKey());
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(250))
        .until(() -> servedSerial().equals(renewed.serial()));
    assertThat(fleet.coordinator().isAlive()).isTrue();
    assertThat(fleet.coordinator().pid()).isEqualTo(pid);
    assertThat(Files.readString(log)).contains("TLS certificate reloaded").contains(renewed.serial().toString(16));
    assertThat(fleet.api().get("/health", java.util.Map.class)).isNotNull();
    // The broken pair was logged once, not every second it stayed.
    assertThat(Files.readString(log).split("TLS files changed but cannot be used", -1)).hasSize(2);
  }

  @Test
  void unusableTlsFilesStopServeAndTheAgentWithOneLineNamingTheFile() throws Exception {
    Path missing = fleet.dir.resolve("tls").resolve("missing.crt");
    Process noCert = serve("--tls-cert", missing.toString(), "--tls-key", fleet.serverKey().toString());
    Process wrongKey = serve("--tls-cert", fleet.serverCert().toString(), "--tls-key", operator.key().toString());
    Process plain = serve("--host", "0.0.0.0");
    TestCertificates.Issued web1 = ca.agent("elsewhere", "web-1");
    Process agent = new ProcessBuilder(javaBin(), "-Xmx64m", "-XX:TieredStopAtLevel=1", "-jar", System.getProperty("lockstep.agentJar"),
        "--coordinator", fleet.url(), "--service", "elsewhere", "--id", "web-1", "--revision", "v0", "--token", Fleet.agentToken("elsewhere", "web-1"),
        "--ca-cert", ca.caCert().toString(), "--client-cert", web1.cert().toString(), "--client-key", operator.key().toString())
        .start();
    try {
      assertThat(agent.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(agent.exitValue()).isEqualTo(2);
      assertThat(new String(agent.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).lines()
          .filter(l -> l.startsWith("lockstep-agent:")).toList()).containsExactly("lockstep-agent: --client-key " + operator.key()
              + ": is not the private key of the certificate in --client-cert " + web1.cert());
      assertThat(noCert.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(noCert.exitValue()).isEqualTo(2);
      assertThat(errorLines(noCert)).containsExactly("lockstep: --tls-cert " + missing + ": no such file");
      assertThat(wrongKey.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(wrongKey.exitValue()).isEqualTo(2);
      assertThat(errorLines(wrongKey)).singleElement().asString()
          .startsWith("lockstep: --tls-key " + operator.key() + ": is not the private key of the certificate");
      // Plain HTTP on every address: one warning at start-up that tokens cross the network in the clear.
      Path plainLog = fleet.dir.resolve("plain.log");
      await().atMost(Duration.ofSeconds(60)).until(() -> Files.readString(plainLog).contains("coordinator ready"));
      String text = Files.readString(plainLog);
      assertThat(text).contains("WARN").contains("serving plain HTTP on 0.0.0.0:")
          .contains("tokens cross the network in the clear");
      assertThat(text.split("in the clear", -1)).hasSize(2);
    } finally {
      for (Process p : List.of(noCert, wrongKey, plain, agent)) {
        p.destroyForcibly();
      }
    }
  }

  // ---- helpers -----------------------------------------------------------------------------------------------

  private static int port() {
    return URI.create(fleet.url()).getPort();
  }

  private static HttpResponse<String> get(SSLContext tls, String path) throws IOException, InterruptedException {
    return get(tls, path, Fleet.OPERATOR_TOKEN);
  }

  private static HttpResponse<String> get(SSLContext tls, String path, String token) throws IOException, InterruptedException {
    return client(tls).send(HttpRequest.newBuilder(URI.create(fleet.url() + path)).timeout(Duration.ofSeconds(20))
        .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * A report for agent {@code id} of {@code service}, with that agent's own token (so the token is good, and the
   * certificate is what decides), presenting {@code tls}'s certificate.
   */
  private static HttpResponse<String> report(SSLContext tls, String id, String service) throws Exception {
    String body = "{\"id\":\"" + id + "\",\"service\":\"" + service + "\",\"revision\":\"v9\",\"state\":\"serving\",\"epoch\":0}";
    return client(tls).send(HttpRequest.newBuilder(URI.create(fleet.url() + "/v1/agents/" + id))
        .timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + Fleet.agentToken(service, id))
        .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpClient client(SSLContext tls) {
    return HttpClient.newBuilder().sslContext(tls).version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
  }

  /** The serial of the certificate a new TLS connection to the coordinator is offered. */
  private static BigInteger servedSerial() throws IOException {
    try (SSLSocket socket = (SSLSocket) fleet.clientTls().getSocketFactory().createSocket("127.0.0.1", port())) {
      socket.setSoTimeout(10_000);
      socket.startHandshake();
      return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    }
  }

  /** Replaces {@code target} in one step (a rename), as a certificate manager would. */
  private static void replace(Path source, Path target) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".new");
    Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[4096];
    try {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        out.write(buffer, 0, n);
      }
    } catch (SocketException reset) {
      // the coordinator dropped the connection: also nothing
    }
    return out.toByteArray();
  }

  /** The CLI's {@code status} with the fleet's TLS flags except {@code flag} and its value. */
  private static Fleet.CliRun cliWithout(String flag) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(javaBin(), "-jar", System.getProperty("lockstep.coordinatorJar"), "status",
        "--coordinator", fleet.url(), "--token", Fleet.OPERATOR_TOKEN));
    if (!flag.equals("--client-cert")) {
      cmd.addAll(List.of("--client-cert", operator.cert().toString(), "--client-key", operator.key().toString()));
    }
    Process p = new ProcessBuilder(cmd).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    return new Fleet.CliRun(p.exitValue(), out, err);
  }

  /** {@code serve} for a service of its own, with {@code extra} flags; its output goes to {@code plain.log} for plain HTTP. */
  private static Process serve(String... extra) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(javaBin(), "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar",
        System.getProperty("lockstep.coordinatorJar"), "serve", "--port", Integer.toString(Fleet.freePort()),
        "--database-url", db.postgresUrl(), "--redis-url", TestRedis.url(), "--service", "tls-" + fleet.service,
        "--token", "operator-token-of-TlsIT", "--agent-secret", "agent-secret-of-TlsIT-0123456789"));
    cmd.addAll(List.of(extra));
    ProcessBuilder builder = new ProcessBuilder(cmd);
    if (List.of(extra).contains("--host")) {
      builder.redirectErrorStream(true).redirectOutput(fleet.dir.resolve("plain.log").toFile());
    }
    return builder.start();
  }

  /** The lines of a finished process's stderr that are not log lines. */
  private static List<String> errorLines(Process p) throws IOException {
    return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).lines()
        .filter(l -> l.startsWith("lockstep:")).toList();
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
