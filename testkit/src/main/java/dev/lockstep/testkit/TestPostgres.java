package dev.lockstep.testkit;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The real PostgreSQL server the tests of this JVM run against, found once and shared; each test
 * class then creates its own {@link TestDatabase} on it, so tests never see each other's state.
 *
 * <p>Discovery, in order: the environment ({@code LOCKSTEP_TEST_PG_HOST}, {@code _PORT},
 * {@code _USER}, {@code _PASSWORD}), a local server on {@code 127.0.0.1:5432} as {@code postgres}
 * without a password, a Testcontainers {@code postgres:16-alpine} where a Docker engine exists;
 * otherwise {@link #instance()} throws {@link IllegalStateException} with the commands that start one.
 *
 * <pre>{@code
 * class ReleaseStoreTest {
 *   static TestDatabase db;
 *
 *   @BeforeAll static void createDatabase() {
 *     db = TestPostgres.instance().createDatabase(ReleaseStoreTest.class.getSimpleName());
 *   }
 *
 *   @AfterAll static void dropDatabase() {
 *     db.close();
 *   }
 *
 *   @Test void storesARelease() throws SQLException {
 *     db.execute("CREATE TABLE t (id int PRIMARY KEY)");
 *     try (Connection c = db.connect()) { ... }
 *   }
 * }
 * }</pre>
 */
public final class TestPostgres {
  static final String ENV_HOST = "LOCKSTEP_TEST_PG_HOST";
  static final String ENV_PORT = "LOCKSTEP_TEST_PG_PORT";
  static final String ENV_USER = "LOCKSTEP_TEST_PG_USER";
  static final String ENV_PASSWORD = "LOCKSTEP_TEST_PG_PASSWORD";

  private static final Logger LOG = LoggerFactory.getLogger(TestPostgres.class);
  private static final String IMAGE = "postgres:16-alpine";
  private static final String ADMIN_DATABASE = "postgres";
  /** PostgreSQL truncates identifiers to 63 bytes; the suffix takes 9 ({@code _} and 8 hex). */
  private static final int MAX_HINT_LENGTH = 63 - 9;
  /** SQLSTATE object_in_use: CREATE DATABASE when another session sits in the template database. */
  private static final String OBJECT_IN_USE = "55006";

  private static TestPostgres instance;
  private static IllegalStateException failure;

  private final String host;
  private final int port;
  private final String user;
  private final String password;

  private TestPostgres(String host, int port, String user, String password) {
    this.host = host;
    this.port = port;
    this.user = user;
    this.password = password == null ? "" : password;
  }

  /**
   * The server for this JVM, discovered on the first call. A failed discovery is remembered, so every
   * later test fails at once with the same explanation instead of probing again.
   */
  public static synchronized TestPostgres instance() {
    if (instance != null) {
      return instance;
    }
    if (failure != null) {
      throw new IllegalStateException(failure.getMessage(), failure);
    }
    try {
      instance = discover();
      return instance;
    } catch (IllegalStateException e) {
      failure = e;
      throw e;
    }
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public String user() {
    return user;
  }

  /** The password, empty when the server trusts the user (as the local server here does). */
  public String password() {
    return password;
  }

  /**
   * Creates an empty database named after {@code hint} (lower case, anything but letters, digits and
   * underscores replaced) plus 8 random hex digits, so that test runs in parallel JVMs do not collide.
   */
  public TestDatabase createDatabase(String hint) {
    String name = databaseName(hint);
    for (int attempt = 1; ; attempt++) {
      try (Connection connection = connectAdmin(); Statement statement = connection.createStatement()) {
        statement.execute("CREATE DATABASE " + quote(name));
        LOG.debug("created test database {} on {}:{}", name, host, port);
        return new TestDatabase(this, name);
      } catch (SQLException e) {
        // Another JVM may be creating a database from template1 at this very moment; that passes.
        if (OBJECT_IN_USE.equals(e.getSQLState()) && attempt < 10) {
          pause(100L * attempt);
          continue;
        }
        throw new IllegalStateException(
            "cannot create test database " + name + " on " + host + ":" + port + ": " + e.getMessage(), e);
      }
    }
  }

  @Override
  public String toString() {
    return "PostgreSQL " + host + ":" + port + " as " + user;
  }

  /** {@code <hint>_<8 hex>}: a valid unquoted identifier, at most 63 bytes. */
  static String databaseName(String hint) {
    String base = hint == null ? "" : hint.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]+", "_");
    base = base.replaceAll("^_+|_+$", "");
    if (base.isEmpty()) {
      base = "test";
    }
    if (Character.isDigit(base.charAt(0))) {
      base = "t_" + base;
    }
    if (base.length() > MAX_HINT_LENGTH) {
      base = base.substring(0, MAX_HINT_LENGTH);
    }
    return base + "_" + String.format("%08x", ThreadLocalRandom.current().nextInt());
  }

  static String quote(String identifier) {
    return '"' + identifier.replace("\"", "\"\"") + '"';
  }

  String jdbcUrl(String database) {
    String hostPart = host.contains(":") ? "[" + host + "]" : host;
    return "jdbc:postgresql://" + hostPart + ":" + port + "/" + database;
  }

  Connection connect(String database) throws SQLException {
    Properties properties = new Properties();
    properties.setProperty("user", user);
    properties.setProperty("password", password);
    properties.setProperty("ApplicationName", "lockstep-testkit");
    // A server that is not there should fail a probe in seconds, not the driver's default minutes.
    properties.setProperty("connectTimeout", "5");
    properties.setProperty("loginTimeout", "10");
    return DriverManager.getConnection(jdbcUrl(database), properties);
  }

  void dropDatabase(String name) {
    try (Connection connection = connectAdmin(); Statement statement = connection.createStatement()) {
      // FORCE (PostgreSQL 13+) ends the sessions a test left open, which would otherwise block the drop.
      statement.execute("DROP DATABASE IF EXISTS " + quote(name) + " WITH (FORCE)");
      LOG.debug("dropped test database {}", name);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot drop test database " + name + ": " + e.getMessage(), e);
    }
  }

  private Connection connectAdmin() throws SQLException {
    return connect(ADMIN_DATABASE);
  }

  /** Null when the server answers, else why not. */
  private String probe() {
    try (Connection connection = connectAdmin()) {
      return connection.isValid(5) ? null : "the connection did not answer";
    } catch (SQLException e) {
      // The driver says only "The connection attempt failed."; the cause says refused, unreachable or timed out.
      return e.getCause() == null ? e.getMessage() : e.getMessage() + " (" + e.getCause() + ")";
    }
  }

  private static TestPostgres discover() {
    String envHost = System.getenv(ENV_HOST);
    String envPort = System.getenv(ENV_PORT);
    if (isSet(envHost) || isSet(envPort)) {
      TestPostgres fromEnvironment = new TestPostgres(
          isSet(envHost) ? envHost : "127.0.0.1",
          isSet(envPort) ? parsePort(envPort) : 5432,
          isSet(System.getenv(ENV_USER)) ? System.getenv(ENV_USER) : "postgres",
          System.getenv(ENV_PASSWORD));
      String problem = fromEnvironment.probe();
      if (problem != null) {
        // The environment was set on purpose; silently testing against something else would mislead.
        throw new IllegalStateException(ENV_HOST + "/" + ENV_PORT + " point at " + fromEnvironment
            + " but it cannot be reached: " + problem + "; fix or unset those variables");
      }
      LOG.info("tests use {} (from {})", fromEnvironment, ENV_HOST);
      return fromEnvironment;
    }

    List<String> tried = new ArrayList<>();
    tried.add(ENV_HOST + " / " + ENV_PORT + ": not set");
    TestPostgres local = new TestPostgres("127.0.0.1", 5432, "postgres", "");
    String problem = local.probe();
    if (problem == null) {
      LOG.info("tests use the local {}", local);
      return local;
    }
    tried.add("local server " + local + ": " + problem);

    if (Docker.available()) {
      return startContainer();
    }
    tried.add("Testcontainers " + IMAGE + ": no Docker engine available");
    throw new IllegalStateException(HowToStart.message("PostgreSQL", tried, HowToStart.POSTGRES_START,
        ENV_HOST + ", " + ENV_PORT + ", " + ENV_USER + ", " + ENV_PASSWORD));
  }

  @SuppressWarnings("resource") // lives as long as the JVM; Testcontainers' reaper removes it afterwards
  private static TestPostgres startContainer() {
    GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(IMAGE))
        .withEnv("POSTGRES_PASSWORD", "postgres")
        .withExposedPorts(5432)
        // The image starts the server twice (once for init scripts), so wait for the second "ready".
        .waitingFor(Wait.forLogMessage(".*database system is ready to accept connections.*\\s", 2));
    try {
      container.start();
    } catch (RuntimeException e) {
      throw new IllegalStateException("Testcontainers could not start " + IMAGE + ": " + e.getMessage(), e);
    }
    TestPostgres started =
        new TestPostgres(container.getHost(), container.getMappedPort(5432), "postgres", "postgres");
    LOG.info("tests use {} in a Testcontainers {}", started, IMAGE);
    return started;
  }

  private static boolean isSet(String value) {
    return value != null && !value.isBlank();
  }

  private static int parsePort(String text) {
    try {
      return Integer.parseInt(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalStateException(ENV_PORT + " must be a port number, not '" + text + "'", e);
    }
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating a test database", e);
    }
  }
}
