package dev.lockstep.coordinator.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import dev.lockstep.testkit.TestRedis;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
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
  void aWrongOptionIsRefusedBeforeAnythingStarts() {
    ServeCommand serve = new ServeCommand();
    new CommandLine(serve).parseArgs("--database-url", db.postgresUrl(), "--token", "operator-token-0123456789",
        "--agent-secret", "agent-secret-0123456789", "--primary-key", "public.legacy");
    assertThatThrownBy(serve::settings).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--primary-key takes TABLE=COLUMN").hasMessageContaining("public.legacy");
  }

  private static Coordinator.Settings settings() {
    ServeCommand serve = new ServeCommand();
    new CommandLine(serve).parseArgs("--port", "0", "--host", "127.0.0.1", "--service", "coordinator-it",
        "--database-url", db.postgresUrl(), "--redis-url", TestRedis.url(), "--token", "operator-token-0123456789",
        "--agent-secret", "agent-secret-0123456789", "--primary-key", "public.legacy=code");
    Coordinator.Settings settings = serve.settings();
    assertThat(settings.declaredKeys()).containsEntry("public.legacy", "code");
    assertThat(settings.config().port()).isZero();
    return settings;
  }

  private HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
