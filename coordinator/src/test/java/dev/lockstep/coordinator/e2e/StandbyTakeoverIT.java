package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.coordinator.cli.AgentsCommand;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two coordinator instances for one service, agents given both URLs. The one running a release is
 * killed while the fleet prepares; the standby notices the orphaned release once the dead one's
 * lease ends, takes it over with a new epoch and completes it, and the agents fail over to it on
 * their own. No restart, no operator.
 */
class StandbyTakeoverIT {
  private static TestDatabase db;
  private static Fleet fleet;
  private static Fleet.Standby standby;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("StandbyTakeoverIT");
    fleet = new Fleet("StandbyTakeoverIT", db);
    Path migrations = fleet.migrations("story");
    fleet.startCoordinator(migrations);
    standby = fleet.startStandbyCoordinator("standby.log");
    fleet.agentsUse(fleet.url(), standby.url());
    fleet.startSlowAgent("h-1", "v0", migrations, "sleep 3 && ");
    fleet.startAgent("h-2", "v0", migrations);
    fleet.awaitAgents("h-1", "h-2");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void theStandbyTakesOverAnOrphanedReleaseAndTheAgentsFollowIt() throws Exception {
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(20)).until(() -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class)
        .phase() == Phase.PREPARING);
    fleet.coordinator().destroyForcibly();
    long killed = System.nanoTime();

    ReleaseDocument end = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(
        () -> standby.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    System.out.printf("TAKEOVER standby completed the release %.1f s after the first coordinator was killed%n",
        (System.nanoTime() - killed) / 1e9);
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(end.epoch()).isEqualTo(2);
    // Logged when the run's future ends, just after the terminal write the API answered above.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readString(fleet.dir.resolve("standby.log")))
        .contains("took over release " + started.id()));
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE success")).isEqualTo(2);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
        standby.api().get("/v1/agents?service=" + fleet.service, AgentsCommand.AgentList.class).agents())
        .extracting(AgentStatus::revision).containsExactly("v1", "v1"));
  }
}
