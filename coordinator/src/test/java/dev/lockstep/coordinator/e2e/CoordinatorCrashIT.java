package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The coordinator is killed (SIGKILL) in the middle of a release. Restarted, it takes the fence
 * with a new epoch and resumes the release from its durable state; the agents reconnect by
 * themselves; the migration is applied once.
 */
class CoordinatorCrashIT {
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("CoordinatorCrashIT");
    fleet = new Fleet("CoordinatorCrashIT", db);
    Path migrations = fleet.migrations("story");
    fleet.startCoordinator(migrations);
    fleet.startSlowAgent("node-1", "v0", migrations, "sleep 3 && ");
    fleet.startAgent("node-2", "v0", migrations);
    fleet.awaitAgents("node-1", "node-2");
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
    db.close();
  }

  @Test
  void aReleaseSurvivesTheCoordinatorBeingKilledWhileTheFleetPrepares() {
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null),
        ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(20)).until(() -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class)
        .phase() == Phase.PREPARING);

    fleet.coordinator().destroyForcibly();
    await().atMost(Duration.ofSeconds(10)).until(() -> !fleet.coordinator().isAlive());
    fleet.restartCoordinator();

    ReleaseDocument end = await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(
        () -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(end.epoch()).as("the restarted coordinator took the fence anew").isGreaterThan(started.epoch() + 1);
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE success")).isEqualTo(2);
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.release_events WHERE release_id = '" + started.id()
        + "' AND message LIKE 'PLANNED: lock and fence taken%'")).as("planned once: a resume at PREPARING does not plan again")
        .isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.release_events WHERE release_id = '" + started.id()
        + "' AND message LIKE 'PREPARING: coordinator % resumed the release%wait for their acknowledgements again%'"))
        .isEqualTo(1);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(fleet.agentList())
        .extracting(AgentStatus::revision).containsExactly("v1", "v1"));
  }
}
