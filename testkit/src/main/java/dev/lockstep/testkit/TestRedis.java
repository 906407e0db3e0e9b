package dev.lockstep.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The real Redis server the tests of this JVM use, found once: {@code LOCKSTEP_TEST_REDIS_URL} if set
 * (taken as given), else a local server on {@code 127.0.0.1:6379} that answers {@code PING}, else a
 * Testcontainers {@code redis:7-alpine} where a Docker engine exists, else an
 * {@link IllegalStateException} with the command that starts one.
 *
 * <pre>{@code
 * Config config = new Config();
 * config.useSingleServer().setAddress(TestRedis.url());
 * RedissonClient redisson = Redisson.create(config);
 * }</pre>
 *
 * <p>Redis has no databases to hand out per test class, so tests share the server: prefix keys with
 * something unique to the test (for example the {@link TestDatabase#name()}).
 */
public final class TestRedis {
  static final String ENV_URL = "LOCKSTEP_TEST_REDIS_URL";

  private static final Logger LOG = LoggerFactory.getLogger(TestRedis.class);
  private static final String IMAGE = "redis:7-alpine";
  private static final String LOCAL_HOST = "127.0.0.1";
  private static final int LOCAL_PORT = 6379;

  private static String url;
  private static IllegalStateException failure;

  private TestRedis() {}

  /** {@code redis://host:port} of the server for this JVM, discovered on the first call. */
  public static synchronized String url() {
    if (url != null) {
      return url;
    }
    if (failure != null) {
      throw new IllegalStateException(failure.getMessage(), failure);
    }
    try {
      url = discover();
      return url;
    } catch (IllegalStateException e) {
      failure = e;
      throw e;
    }
  }

  private static String discover() {
    String fromEnvironment = System.getenv(ENV_URL);
    if (fromEnvironment != null && !fromEnvironment.isBlank()) {
      LOG.info("tests use Redis {} (from {})", fromEnvironment, ENV_URL);
      return fromEnvironment.trim();
    }
    List<String> tried = new ArrayList<>();
    tried.add(ENV_URL + ": not set");

    String answer = ping(LOCAL_HOST, LOCAL_PORT);
    if ("+PONG".equals(answer)) {
      String local = "redis://" + LOCAL_HOST + ":" + LOCAL_PORT;
      LOG.info("tests use the local Redis {}", local);
      return local;
    }
    tried.add("local server " + LOCAL_HOST + ":" + LOCAL_PORT + ": " + answer);

    if (Docker.available()) {
      return startContainer();
    }
    tried.add("Testcontainers " + IMAGE + ": no Docker engine available");
    throw new IllegalStateException(HowToStart.message("Redis", tried, HowToStart.REDIS_START, ENV_URL));
  }

  /** The first line Redis answers to PING ({@code +PONG} when usable), or why there was no answer. */
  static String ping(String host, int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), 1_000);
      socket.setSoTimeout(2_000);
      OutputStream out = socket.getOutputStream();
      out.write("*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
      String line = in.readLine();
      if (line == null) {
        return "closed the connection without answering PING";
      }
      // e.g. "-NOAUTH Authentication required.": reachable, but the tests need a URL with credentials.
      return line.startsWith("+PONG") ? "+PONG" : "answered PING with '" + line + "'; set " + ENV_URL;
    } catch (IOException e) {
      return e.toString();
    }
  }

  @SuppressWarnings("resource") // lives as long as the JVM; Testcontainers' reaper removes it afterwards
  private static String startContainer() {
    GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(IMAGE)).withExposedPorts(6379);
    try {
      container.start();
    } catch (RuntimeException e) {
      throw new IllegalStateException("Testcontainers could not start " + IMAGE + ": " + e.getMessage(), e);
    }
    String started = "redis://" + container.getHost() + ":" + container.getMappedPort(6379);
    LOG.info("tests use Redis {} in a Testcontainers {}", started, IMAGE);
    return started;
  }
}
