package dev.lockstep.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL cluster of a test's own, on a free port, that asks for passwords
 * ({@code scram-sha-256}): what the machine's shared server (which trusts 127.0.0.1) cannot show,
 * such as a wrong password. Built with the server's own {@code initdb} and {@code pg_ctl}; run as the
 * {@code postgres} user when the test runs as root (PostgreSQL refuses to run as root).
 *
 * <pre>{@code try (ScratchPostgres pg = ScratchPostgres.start()) {
 *   String url = "postgresql://postgres:" + pg.password() + "@127.0.0.1:" + pg.port() + "/postgres";
 * }}</pre>
 *
 * <p>{@link #startWithTls} starts one with {@code ssl=on}, a given certificate, and a {@code pg_hba.conf}
 * of {@code hostssl} lines only, so a connection without TLS is refused outright; it logs every
 * connection ({@code log_connections}), with whether it used TLS, to {@link #serverLog()}.
 */
public final class ScratchPostgres implements AutoCloseable {
  private final Path dir;
  private final Path bin;
  private final int port;
  private final String password;

  private ScratchPostgres(Path dir, Path bin, int port, String password) {
    this.dir = dir;
    this.bin = bin;
    this.port = port;
    this.password = password;
  }

  /** The server's binaries, if PostgreSQL's {@code initdb} is installed here. */
  public static Optional<Path> binaries() {
    Path root = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(root)) {
      return Optional.empty();
    }
    try (Stream<Path> versions = Files.list(root)) {
      return versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb")))
          .max(Comparator.naturalOrder());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Initialises and starts a cluster whose superuser {@code postgres} has a random password. */
  public static ScratchPostgres start() {
    return start(null);
  }

  /**
   * As {@link #start()}, serving TLS only: {@code ssl=on} with this certificate and key (copied into the
   * cluster's folder, the key owned by {@code postgres} with mode 0600, as the server demands), TCP
   * connections accepted only as {@code hostssl}, and every connection logged.
   */
  public static ScratchPostgres startWithTls(TestCertificates.Issued server) {
    return start(server);
  }

  private static ScratchPostgres start(TestCertificates.Issued tls) {
    Path bin = binaries().orElseThrow(() -> new IllegalStateException(
        "ScratchPostgres needs PostgreSQL's initdb under /usr/lib/postgresql/<version>/bin (apt-get install postgresql)"));
    String password = "scratch-" + UUID.randomUUID();
    try {
      Path dir = Files.createTempDirectory("lockstep-scratch-pg-");
      Path pwfile = dir.resolve("pw");
      Files.writeString(pwfile, password + "\n");
      Path data = dir.resolve("data");
      run(dir, List.of("chown", "-R", "postgres", dir.toString()), false);
      int port = freePort();
      run(dir, List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "postgres", "--auth=scram-sha-256",
          "--pwfile=" + pwfile, "-E", "UTF8", "--no-instructions"), true);
      String options = "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1";
      if (tls != null) {
        Path cert = dir.resolve("server.pem");
        Path key = dir.resolve("server.key");
        Files.copy(tls.cert(), cert);
        Files.copy(tls.key(), key);
        run(dir, List.of("chown", "postgres", cert.toString(), key.toString()), false);
        run(dir, List.of("chmod", "600", key.toString()), false);
        // initdb's file, owned by postgres, rewritten in place: sockets as before, TCP only over TLS.
        Files.writeString(data.resolve("pg_hba.conf"), "local all all scram-sha-256\n"
            + "hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n");
        options += " -c ssl=on -c ssl_cert_file=" + cert + " -c ssl_key_file=" + key + " -c log_connections=on";
      }
      run(dir, List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-w", "-t", "30", "-l",
          dir.resolve("server.log").toString(), "-o", options, "start"), true);
      return new ScratchPostgres(dir, bin, port, password);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int port() {
    return port;
  }

  /** The server's log: with {@link #startWithTls}, a {@code connection authorized: …} line for every connection. */
  public Path serverLog() {
    return dir.resolve("server.log");
  }

  /** The superuser's password. */
  public String password() {
    return password;
  }

  @Override
  public void close() {
    try {
      run(dir, List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate", "-w",
          "stop"), true);
    } catch (RuntimeException | IOException e) {
      // Best effort: a leftover cluster in a temporary folder harms nothing but disk.
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // as above
    }
  }

  private static void run(Path dir, List<String> command, boolean asPostgres) throws IOException {
    List<String> full = new ArrayList<>();
    if (asPostgres && "root".equals(System.getProperty("user.name"))) {
      full.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    full.addAll(command);
    Process p = new ProcessBuilder(full).directory(dir.toFile()).redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", full) + " failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + String.join(" ", full));
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
