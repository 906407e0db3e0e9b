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
      run(dir, List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-w", "-t", "30", "-l",
          dir.resolve("server.log").toString(), "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1", "start"),
          true);
      return new ScratchPostgres(dir, bin, port, password);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int port() {
    return port;
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
