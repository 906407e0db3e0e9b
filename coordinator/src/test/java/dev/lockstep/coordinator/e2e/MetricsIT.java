package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} after a real release has the names DESIGN.md gives, and {@code promtool check
 * metrics} (Debian's prometheus package; scripts/services.sh installs it) finds nothing to say about them.
 */
class MetricsIT {
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("MetricsIT");
    fleet = new Fleet("MetricsIT", db);
    Path migrations = fleet.folder("migrations", Map.of("V1__accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY);"));
    fleet.startCoordinator(migrations);
    fleet.startAgent("m-1", "v0", migrations);
    fleet.startAgent("m-2", "v0", migrations);
    fleet.awaitAgents("m-1", "m-2");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void aReleaseShowsInTheMetricsAndPromtoolFindsNothingToSayAboutThem() throws Exception {
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
    ReleaseDocument end = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);

    String metrics = await().atMost(Duration.ofSeconds(15)).until(MetricsIT::scrape,
        text -> text.contains("lockstep_agents{service=\"" + fleet.service + "\",state=\"serving\"} 2.0"));
    assertThat(metrics)
        .contains("lockstep_releases_total{outcome=\"completed\",service=\"" + fleet.service + "\"} 1.0")
        .contains("lockstep_release_phase_duration_seconds_bucket{phase=\"MIGRATING\"")
        .contains("lockstep_release_phase_duration_seconds_count{phase=\"SWITCHING\"} 1")
        .contains("lockstep_switch_skew_seconds_count 1")
        .contains("lockstep_lock_wait_seconds_count 1")
        .doesNotContain(started.id());

    Path file = fleet.dir.resolve("metrics.txt");
    Files.writeString(file, metrics);
    Process promtool = new ProcessBuilder(promtool(), "check", "metrics").redirectInput(file.toFile())
        .redirectErrorStream(true).start();
    String said = new String(promtool.getInputStream().readAllBytes());
    assertThat(promtool.waitFor(30, TimeUnit.SECONDS)).isTrue();
    List<String> aboutLockstep = said.lines().filter(l -> l.contains("lockstep")).toList();
    assertThat(aboutLockstep).as("promtool on lockstep_* (all it said: %s)", said).isEmpty();
  }

  private static String scrape() throws Exception {
    HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(HttpRequest.newBuilder(URI.create(fleet.url() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    return r.body();
  }

  private static String promtool() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, "promtool"))) {
        return Path.of(dir, "promtool").toString();
      }
    }
    throw new IllegalStateException("promtool is not installed: run scripts/services.sh (it installs Debian's prometheus"
        + " package) or apt-get install prometheus");
  }
}
