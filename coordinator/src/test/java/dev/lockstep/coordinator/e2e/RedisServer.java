package dev.lockstep.coordinator.e2e;

import dev.lockstep.testkit.Resp;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A Redis server of a test's own, on a free port, keeping nothing on disk, so a test can restart it
 * empty without touching the shared Redis that other tests use. Also {@link #call}, testkit's {@link Resp} by URL,
 * for reading keys in any Redis without starting a Redisson client.
 *
 * <pre>{@code try (RedisServer redis = RedisServer.start(dir)) {
 *   fleet = new Fleet("X", db, redis.url());
 *   redis.restartEmpty(Duration.ofSeconds(1));
 * }}</pre>
 */
final class RedisServer implements AutoCloseable {
  private final int port;
  private final Path dir;

  private RedisServer(int port, Path dir) {
    this.port = port;
    this.dir = dir;
  }

  /** Whether {@code redis-server} is on the PATH here. */
  static boolean available() {
    try {
      return new ProcessBuilder("sh", "-c", "command -v redis-server").start().waitFor() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Starts {@code redis-server} on a free port of 127.0.0.1, daemonized, with no persistence. */
  static RedisServer start(Path dir) {
    RedisServer server = new RedisServer(freePort(), dir);
    server.launch();
    return server;
  }

  String url() {
    return "redis://127.0.0.1:" + port;
  }

  int port() {
    return port;
  }

  /** Stops the server without saving, waits {@code downFor}, and starts it again, empty. */
  void restartEmpty(java.time.Duration downFor) {
    shutdown();
    sleep(downFor.toMillis());
    launch();
  }

  @Override
  public void close() {
    shutdown();
  }

  private void launch() {
    run("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--daemonize", "yes", "--dir", dir.toString(), "--logfile", dir.resolve("redis-" + port + ".log").toString());
    long deadline = System.currentTimeMillis() + 10_000;
    while (!answers()) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("redis-server on port " + port + " did not answer PING within 10 s; see "
            + dir.resolve("redis-" + port + ".log"));
      }
      sleep(50);
    }
  }

  private void shutdown() {
    try {
      call(url(), "SHUTDOWN", "NOSAVE");
    } catch (UncheckedIOException expected) {
      // the server closes the connection instead of answering
    }
    long deadline = System.currentTimeMillis() + 10_000;
    while (answers() && System.currentTimeMillis() < deadline) {
      sleep(50);
    }
  }

  private boolean answers() {
    try {
      return "PONG".equals(call(url(), "PING"));
    } catch (UncheckedIOException e) {
      return false;
    }
  }

  /**
   * Sends one command to the Redis at {@code url} and returns its reply: a status or bulk string, an
   * integer as a {@code Long}, an array as a {@code List}, null for a nil reply.
   *
   * @throws IllegalStateException for an error reply
   * @throws UncheckedIOException when the server cannot be reached or closes the connection
   */
  static Object call(String url, String... args) {
    URI uri = URI.create(url);
    return Resp.call(uri.getHost(), uri.getPort(), args);
  }

  private static void run(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed (exit " + (p.isAlive() ? "none" : p.exitValue()) + ")");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
