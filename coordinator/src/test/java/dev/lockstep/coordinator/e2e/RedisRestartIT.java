package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import dev.lockstep.testkit.TestRedis;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Redis restarts in the middle of a release and comes back empty (it keeps nothing on disk): the
 * lock and the whole agent registry are gone. PostgreSQL holds what safety needs, so the release
 * goes on: the agents report again within seconds and the release completes.
 */
class RedisRestartIT {
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void start() {
    Assumptions.assumeTrue(TestRedis.url().equals("redis://127.0.0.1:6379") && onPath("redis-server") && onPath("redis-cli"),
        "needs the local Redis on 127.0.0.1:6379 and redis-server/redis-cli to restart it");
    db = TestPostgres.instance().createDatabase("RedisRestartIT");
    fleet = new Fleet("RedisRestartIT", db);
    Path migrations = fleet.migrations("story");
    fleet.startCoordinator(migrations);
    fleet.startSlowAgent("r-1", "v0", migrations, "sleep 4 && ");
    fleet.startAgent("r-2", "v0", migrations);
    fleet.awaitAgents("r-1", "r-2");
  }

  @AfterAll
  static void stop() {
    if (fleet != null) {
      fleet.close();
      db.close();
    }
  }

  @Test
  void aReleaseSurvivesRedisRestartingEmptyWhileTheFleetPrepares() throws Exception {
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(20)).until(() -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class)
        .phase() == Phase.PREPARING);
    try {
      run("redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave");
      await().atMost(Duration.ofSeconds(10)).until(() -> !redisAnswers());
      Thread.sleep(1000);
    } finally {
      run("redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no");
      await().atMost(Duration.ofSeconds(10)).until(RedisRestartIT::redisAnswers);
    }

    ReleaseDocument end = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(
        () -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE success")).isEqualTo(2);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(fleet.agentList())
        .extracting(AgentStatus::revision).containsExactly("v1", "v1"));
  }

  private static boolean redisAnswers() {
    try (Socket s = new Socket("127.0.0.1", 6379)) {
      s.getOutputStream().write("PING\r\n".getBytes());
      byte[] buf = new byte[7];
      return s.getInputStream().read(buf) > 0 && new String(buf).startsWith("+PONG");
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean onPath(String command) {
    try {
      return new ProcessBuilder("sh", "-c", "command -v " + command).start().waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  private static void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    p.waitFor(10, TimeUnit.SECONDS);
  }
}
