package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.Phase;
import io.vertx.core.Vertx;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failover away from a paused coordinator (SIGSTOP: connections open, nothing answers), over real HTTP with a
 * real prepare hook. The agent runs with the production timings (report every 2 s, {@code wait=30s}, so a
 * blocking query left alone would hang for 40 s): the desired state served by the other coordinator must reach
 * it as soon as a report to the paused one times out, well inside the coordinator's 10 s liveness timeout.
 */
class CoordinatorFailoverTest {
  private static final String TOKEN = "agent-secret";
  /** Report interval (2 s) + report timeout (4 s) + a hook, with room to spare, and far below wait + 10 s. */
  private static final Duration FAILOVER_BUDGET = Duration.ofSeconds(8);
  private static Vertx vertx;

  @TempDir
  Path dir;

  private FakeCoordinator working;
  private String deployment;

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void setUp() throws Exception {
    working = new FakeCoordinator(vertx, TOKEN, "shop");
    working.start().await(5, TimeUnit.SECONDS);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (deployment != null) {
      vertx.undeploy(deployment).await(10, TimeUnit.SECONDS);
    }
    working.stop().await(10, TimeUnit.SECONDS);
  }

  private AgentConfig config(List<URI> coordinators) {
    return AgentConfig.of(coordinators, "web-1", "shop", "rev-1", TOKEN)
        .withHooks(new AgentConfig.Hooks("echo prepared >> " + dir.resolve("hooks.log"), null, null))
        .withTimings(Duration.ofSeconds(5), AgentConfig.DEFAULT_REPORT_INTERVAL, AgentConfig.DEFAULT_POLL_WAIT,
            AgentConfig.Retry.DEFAULT);
  }

  private void startAgent(AgentConfig config) throws Exception {
    deployment = vertx.deployVerticle(new Agent(config)).await(10, TimeUnit.SECONDS);
  }

  private static AgentReport awaitReport(FakeCoordinator coordinator, String what, Duration atMost,
      Predicate<AgentReport> matches) {
    return await(what).atMost(atMost).pollInterval(Duration.ofMillis(20))
        .until(() -> coordinator.reports().stream().filter(matches).findFirst().orElse(null), r -> r != null);
  }

  /** Publishes PREPARING on the working coordinator and returns how long until it received PREPARED. */
  private Duration publishAndTimePrepared(String scenario) throws Exception {
    long start = System.nanoTime();
    working.publish("r1", Phase.PREPARING, 1, "rev-2");
    awaitReport(working, "PREPARED reported to the working coordinator", FAILOVER_BUDGET,
        r -> r.state() == AgentState.PREPARED && "r1".equals(r.releaseId()));
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    System.out.printf("failover (%s): PREPARED reached the working coordinator %d ms after it published"
        + " PREPARING%n", scenario, took.toMillis());
    assertThat(Files.readAllLines(dir.resolve("hooks.log"))).containsExactly("prepared");
    return took;
  }

  @Test
  void coordinatorThatNeverAnswersHoldsTheDesiredStateOnlyUntilAReportTimesOut() throws Exception {
    try (SilentCoordinator paused = new SilentCoordinator()) {
      startAgent(config(List.of(paused.url(), working.url())));
      await("the agent's first requests reach the paused coordinator").atMost(Duration.ofSeconds(2))
          .until(() -> paused.accepted() >= 2);

      assertThat(publishAndTimePrepared("first coordinator paused from the start")).isLessThan(FAILOVER_BUDGET);
      // The abandoned blocking query was reset, not left to time out: nothing is still open on the paused one.
      await("every connection to the paused coordinator closed").atMost(Duration.ofSeconds(2))
          .until(() -> paused.open() == 0);
      assertThat(working.mostOpenDesiredQueries()).isEqualTo(1);
    }
  }

  @Test
  void blockingQueryHeldByACoordinatorThatPausesIsReissuedToTheNextOne() throws Exception {
    FakeCoordinator first = new FakeCoordinator(vertx, TOKEN, "shop");
    first.start().await(5, TimeUnit.SECONDS);
    try {
      startAgent(config(List.of(first.url(), working.url())));
      awaitReport(first, "a report to the first coordinator", Duration.ofSeconds(5), r -> true);
      await("a blocking query held by the first coordinator").atMost(Duration.ofSeconds(5))
          .until(() -> first.openDesiredQueries() == 1);
      first.pause();

      assertThat(publishAndTimePrepared("coordinator paused while holding the query")).isLessThan(FAILOVER_BUDGET);
      await("the held query abandoned: its connection closed").atMost(Duration.ofSeconds(2))
          .until(() -> first.openDesiredQueries() == 0);
      assertThat(first.desiredQueries()).as("queries the paused coordinator received").isEqualTo(1);
      assertThat(working.mostOpenDesiredQueries()).isEqualTo(1);
    } finally {
      first.stop().await(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void withOneCoordinatorAPausedOneIsAskedAgainAfterTheBackoffNotAfterTheWait() throws Exception {
    // Quick reports and backoff to keep the test short; the blocking query still waits 30 s.
    startAgent(config(List.of(working.url())).withTimings(Duration.ofSeconds(5), Duration.ofMillis(200),
        AgentConfig.DEFAULT_POLL_WAIT, new AgentConfig.Retry(Duration.ofMillis(100), Duration.ofMillis(500))));
    await("a blocking query held").atMost(Duration.ofSeconds(5)).until(() -> working.openDesiredQueries() == 1);
    working.pause();
    long pausedAt = System.nanoTime();

    await("the held query given up and asked again").atMost(FAILOVER_BUDGET)
        .until(() -> working.desiredQueries() >= 2);
    long reissuedMs = Duration.ofNanos(System.nanoTime() - pausedAt).toMillis();
    // No spin: one query per failed report (4 s timeout), never two at once. Nothing happens to wait for, so this
    // watches a window: 1 s, twice the longest retry delay (500 ms), the shortest in which a query re-sent at every
    // retry would pass the bound below.
    Thread.sleep(1_000);
    assertThat(working.desiredQueries()).isLessThanOrEqualTo(3);
    assertThat(working.mostOpenDesiredQueries()).isEqualTo(1);
    System.out.printf("single coordinator paused: blocking query re-sent after %d ms%n", reissuedMs);

    working.resume();
    assertThat(publishAndTimePrepared("single coordinator resumed")).isLessThan(Duration.ofSeconds(3));
  }
}
