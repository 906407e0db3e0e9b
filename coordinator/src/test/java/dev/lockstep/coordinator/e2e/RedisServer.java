package dev.lockstep.coordinator.e2e;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Redis server of a test's own, on a free port, keeping nothing on disk, so a test can restart it
 * empty without touching the shared Redis that other tests use. Also a minimal RESP client
 * ({@link #call}) for reading keys in any Redis without starting a Redisson client.
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
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 1_000);
      socket.setSoTimeout(3_000);
      OutputStream out = socket.getOutputStream();
      StringBuilder cmd = new StringBuilder("*").append(args.length).append("\r\n");
      for (String a : args) {
        byte[] bytes = a.getBytes(StandardCharsets.UTF_8);
        cmd.append('$').append(bytes.length).append("\r\n").append(a).append("\r\n");
      }
      out.write(cmd.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
      return read(new BufferedInputStream(socket.getInputStream()));
    } catch (IOException e) {
      throw new UncheckedIOException("Redis " + url + ": " + e.getMessage(), e);
    }
  }

  private static Object read(InputStream in) throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new IOException("connection closed without a reply");
    }
    String line = line(in);
    switch (type) {
      case '+':
        return line;
      case '-':
        throw new IllegalStateException("Redis error: " + line);
      case ':':
        return Long.parseLong(line);
      case '$': {
        int length = Integer.parseInt(line);
        if (length < 0) {
          return null;
        }
        byte[] data = in.readNBytes(length + 2);
        return new String(data, 0, length, StandardCharsets.UTF_8);
      }
      case '*': {
        int count = Integer.parseInt(line);
        if (count < 0) {
          return null;
        }
        List<Object> items = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          items.add(read(in));
        }
        return items;
      }
      default:
        throw new IOException("unexpected RESP type '" + (char) type + "'");
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int c = in.read(); c >= 0; c = in.read()) {
      if (c == '\r') {
        in.read();
        return b.toString();
      }
      b.append((char) c);
    }
    throw new IOException("connection closed in the middle of a reply");
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
