package dev.lockstep.coordinator.e2e;

import dev.lockstep.testkit.TestCertificates;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Redis server of a test's own that lets in only one ACL user with a password (the {@code default}
 * user is off), and, given a certificate, speaks TLS only: {@code --port 0 --tls-port P}, so a client
 * without TLS cannot reach it at all. A child process of the test JVM, nothing kept on disk.
 *
 * <pre>{@code try (SecuredRedis redis = SecuredRedis.start(dir, "app", "pw", certs.serverFor("redis", "IP:127.0.0.1"))) {
 *   redis.url(); // rediss://app:pw@127.0.0.1:P
 * }}</pre>
 */
final class SecuredRedis implements AutoCloseable {
  private final int port;
  private final String user;
  private final String password;
  private final boolean tls;
  private final Process process;

  private SecuredRedis(int port, String user, String password, boolean tls, Process process) {
    this.port = port;
    this.user = user;
    this.password = password;
    this.tls = tls;
    this.process = process;
  }

  /**
   * @param server the certificate to serve TLS with, or null for a plain TCP port
   */
  static SecuredRedis start(Path dir, String user, String password, TestCertificates.Issued server) {
    int port = Fleet.freePort();
    List<String> cmd = new ArrayList<>(List.of("redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"));
    if (server != null) {
      cmd.addAll(List.of("--port", "0", "--tls-port", Integer.toString(port), "--tls-cert-file", server.cert().toString(),
          "--tls-key-file", server.key().toString(), "--tls-auth-clients", "no"));
    } else {
      cmd.addAll(List.of("--port", Integer.toString(port)));
    }
    cmd.addAll(List.of("--user", "default", "off", "--user", user, "on", ">" + password, "~*", "&*", "+@all"));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("redis-" + port + ".log").toFile())).start();
      SecuredRedis redis = new SecuredRedis(port, user, password, server != null, p);
      redis.awaitListening();
      return redis;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  int port() {
    return port;
  }

  /** The URL with this password (URL-encoded), e.g. a wrong one. */
  String url(String withPassword) {
    return (tls ? "rediss" : "redis") + "://" + URLEncoder.encode(user, StandardCharsets.UTF_8) + ":"
        + URLEncoder.encode(withPassword, StandardCharsets.UTF_8) + "@127.0.0.1:" + port;
  }

  String url() {
    return url(password);
  }

  String password() {
    return password;
  }

  private void awaitListening() {
    org.awaitility.Awaitility.await("redis-server on port " + port + " listening").atMost(java.time.Duration.ofSeconds(10))
        .pollInterval(java.time.Duration.ofMillis(50))
        .failFast("redis-server on port " + port + " exited", () -> !process.isAlive())
        .until(() -> {
          try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
          } catch (IOException notYet) {
            return false;
          }
        });
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
