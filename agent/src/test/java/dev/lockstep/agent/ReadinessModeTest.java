package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Readiness mode's HTTP side and its life, in-process against a fake coordinator over real HTTP: the probe answers
 * before and after the first desired state, keeps its answer while the coordinator is paused or gone, the reports say
 * {@code ready} and {@code ephemeral}, and an ephemeral agent leaves when it stops.
 */
class ReadinessModeTest {
  private static final String TOKEN = "agent-secret";
  private final HttpClient http = HttpClient.newHttpClient();
  private Vertx vertx;
  private FakeCoordinator coordinator;
  private String deployment;
  private Agent agent;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    coordinator = new FakeCoordinator(vertx, TOKEN, "shop");
    coordinator.start().await(5, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (deployment != null) {
      vertx.undeploy(deployment).await(10, TimeUnit.SECONDS);
    }
    coordinator.stop().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private void startPod() throws Exception {
    AgentConfig config = AgentConfig.of(List.of(coordinator.url()), "pod-1", "shop", "v1", TOKEN)
        .withTimings(Duration.ofSeconds(5), Duration.ofMillis(100), Duration.ofSeconds(2),
            new AgentConfig.Retry(Duration.ofMillis(100), Duration.ofMillis(300)))
        .withReadiness(0);
    assertThat(config.ephemeral()).as("readiness mode implies ephemeral").isTrue();
    agent = new Agent(config);
    deployment = vertx.deployVerticle(agent).await(10, TimeUnit.SECONDS);
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.readinessPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static DesiredState released(String revision) {
    return new DesiredState("shop", 0, 1, "r-1", Phase.COMPLETED, revision, Mode.ONLINE, null, "1", false, revision, true);
  }

  @Test
  void notReadyUntilTheCoordinatorSaysSoThenReadyAndTheReportsSayIt() throws Exception {
    coordinator.pause();
    startPod();
    HttpResponse<String> before = get("/ready");
    assertThat(before.statusCode()).isEqualTo(503);
    assertThat(before.body()).contains("\"ready\":false").contains("no answer from the coordinator yet")
        .contains("\"revision\":\"v1\"");
    assertThat(get("/live").statusCode()).isEqualTo(200);
    assertThat(get("/elsewhere").statusCode()).isEqualTo(404);
    assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.readinessPort() + "/ready"))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(405);

    coordinator.resume();
    coordinator.publish(DesiredState.none("shop"));
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.readiness() != Readiness.NOT_YET);
    assertThat(get("/ready").body()).contains("no release of service shop has completed yet");

    coordinator.publish(released("v1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> get("/ready").statusCode() == 200);
    assertThat(get("/ready").body()).contains("\"ready\":true").contains("\"releaseId\":\"r-1\"");
    AgentReport report = await().atMost(Duration.ofSeconds(5)).until(() -> last(), r -> r != null
        && Boolean.TRUE.equals(r.ready()));
    assertThat(report.ephemeral()).isTrue();
    assertThat(report.reportIntervalMs()).isEqualTo(100);
  }

  @Test
  void whileTheCoordinatorIsPausedOrGoneThePodKeepsItsAnswer() throws Exception {
    startPod();
    coordinator.publish(released("v1"));
    await().atMost(Duration.ofSeconds(5)).until(() -> get("/ready").statusCode() == 200);

    coordinator.pause();
    int reports = coordinator.reports().size();
    // Reports time out against a paused coordinator; the probe answer must not change meanwhile.
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> get("/ready").statusCode() == 200);
    assertThat(coordinator.reports().size()).as("a paused coordinator got no report meanwhile").isEqualTo(reports);
    coordinator.stop().await(5, TimeUnit.SECONDS);
    await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(2)).until(() -> get("/ready").statusCode() == 200);
    coordinator.start().await(5, TimeUnit.SECONDS);
  }

  @Test
  void aStoppingEphemeralAgentLeavesTheRegistry() throws Exception {
    startPod();
    await().atMost(Duration.ofSeconds(5)).until(() -> last() != null);
    vertx.undeploy(deployment).await(10, TimeUnit.SECONDS);
    deployment = null;
    assertThat(coordinator.leaves()).containsExactly("/v1/agents/pod-1?service=shop");
  }

  private AgentReport last() {
    List<AgentReport> all = coordinator.reports();
    return all.isEmpty() ? null : all.get(all.size() - 1);
  }
}
