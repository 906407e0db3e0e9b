package dev.lockstep.coordinator.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.lockstep.coordinator.store.StoreStartup;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import dev.lockstep.testkit.TestRedis;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/**
 * The coordinator's life in one process: {@code serve}'s options resolve to settings, it starts once, serves, and stops
 * in order; a second start is refused and a second stop does nothing.
 */
class CoordinatorIT {
  private static TestDatabase db;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void database() {
    db = TestPostgres.instance().createDatabase("CoordinatorIT");
  }

  @AfterAll
  static void drop() {
    db.close();
  }

  @Test
  void startsOnceServesAndStopsInOrder() throws Exception {
    Coordinator coordinator = new Coordinator(settings(), Clock.systemUTC());
    assertThat(coordinator.state()).isEqualTo(Coordinator.State.NEW);
    assertThat(coordinator.port()).isEqualTo(-1);

    assertThat(coordinator.start()).isTrue();
    assertThat(coordinator.state()).isEqualTo(Coordinator.State.RUNNING);
    int port = coordinator.port();
    assertThat(port).isPositive();
    assertThat(get(port, "/ready").statusCode()).isEqualTo(200);
    HttpResponse<String> fleet = get(port, "/v1/agents");
    assertThat(fleet.statusCode()).as("the API needs a token").isEqualTo(401);

    assertThatThrownBy(coordinator::start).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cannot be started more than once").hasMessageContaining("RUNNING");

    coordinator.stop();
    assertThat(coordinator.state()).isEqualTo(Coordinator.State.STOPPED);
    assertThatThrownBy(() -> get(port, "/ready")).isInstanceOf(ConnectException.class);
    coordinator.stop(); // a second stop (the shutdown hook after a test's own) does nothing
    assertThat(coordinator.state()).isEqualTo(Coordinator.State.STOPPED);
  }

  @Test
  void aCoordinatorStoppedBeforeItStartedNeverStarts() throws Exception {
    Coordinator coordinator = new Coordinator(settings(), Clock.systemUTC());
    coordinator.stop();
    assertThat(coordinator.state()).isEqualTo(Coordinator.State.STOPPED);
    assertThatThrownBy(coordinator::start).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("STOPPED");
  }

  @Test
  @Timeout(30) // without the interrupt, stop() would wait for a start-up that never ends
  void aStopWhileTheStoresAreDownEndsStartUp() throws Exception {
    // Redis on a port nothing listens on: start-up retries it (every 100 ms here) until stopped.
    Coordinator.Pacing quick = new Coordinator.Pacing(Duration.ofMillis(200), Duration.ofMillis(200),
        new StoreStartup.Backoff(Duration.ofMillis(50), Duration.ofMillis(100)));
    Coordinator coordinator = new Coordinator(settings("--redis-url", "redis://127.0.0.1:" + closedPort()),
        Clock.systemUTC(), quick);
    CompletableFuture<Boolean> started = CompletableFuture.supplyAsync(() -> {
      try {
        return coordinator.start();
      } catch (Exception e) {
        throw new CompletionException(e);
      }
    });
    await().atMost(Duration.ofSeconds(20)).until(() -> coordinator.port() > 0);
    int port = coordinator.port();
    assertThat(get(port, "/ready").statusCode()).as("not ready while Redis is down").isEqualTo(503);
    assertThat(coordinator.state()).isEqualTo(Coordinator.State.STARTING);

    coordinator.stop();
    assertThat(started.get(10, TimeUnit.SECONDS)).as("start() reports it did not start").isFalse();
    assertThat(coordinator.state()).isEqualTo(Coordinator.State.STOPPED);
    assertThatThrownBy(() -> get(port, "/ready")).as("HTTP closed").isInstanceOf(ConnectException.class);
  }

  @Test
  void aWrongOptionIsRefusedBeforeAnythingStarts() {
    ServeCommand serve = new ServeCommand();
    new CommandLine(serve).parseArgs("--database-url", db.postgresUrl(), "--token", "operator-token-0123456789",
        "--agent-secret", "agent-secret-0123456789", "--primary-key", "public.legacy");
    assertThatThrownBy(serve::settings).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--primary-key takes TABLE=COLUMN").hasMessageContaining("public.legacy");
  }

  private static Coordinator.Settings settings(String... more) {
    ServeCommand serve = new ServeCommand();
    List<String> args = new ArrayList<>(List.of("--port", "0", "--host", "127.0.0.1", "--service", "coordinator-it",
        "--database-url", db.postgresUrl(), "--redis-url", TestRedis.url(), "--token", "operator-token-0123456789",
        "--agent-secret", "agent-secret-0123456789", "--primary-key", "public.legacy=code"));
    args.addAll(List.of(more)); // a flag given again wins
    new CommandLine(serve).setOverwrittenOptionsAllowed(true).parseArgs(args.toArray(String[]::new));
    Coordinator.Settings settings = serve.settings();
    assertThat(settings.declaredKeys()).containsEntry("public.legacy", "code");
    assertThat(settings.config().port()).isZero();
    return settings;
  }

  private static int closedPort() throws java.io.IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
