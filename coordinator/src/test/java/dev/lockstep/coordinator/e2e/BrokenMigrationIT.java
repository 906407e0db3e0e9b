package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A release of three migrations whose third fails for real — it passed the rehearsal, but live
 * traffic wrote a duplicate while the fleet prepared: the whole release is rolled back, it ends
 * FAILED naming the migration and the database error, and the agents abort and stay on the old
 * revision.
 */
class BrokenMigrationIT {
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("BrokenMigrationIT");
    fleet = new Fleet("BrokenMigrationIT", db);
    Path migrations = fleet.migrations("broken");
    fleet.startCoordinator(migrations);
    fleet.startSlowAgent("app-1", "v1", migrations, "sleep 2 && ");
    fleet.startAgent("app-2", "v1", migrations);
    fleet.awaitAgents("app-1", "app-2");
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
    db.close();
  }

  @Test
  void aFailingThirdMigrationRollsTheReleaseBackWholeAndTheFleetStaysOnOldCode() {
    assertThat(fleet.cli("release", "--revision", "v1", "--schema", "1").exit()).isZero();
    int hookLinesBefore = fleet.hookLines().size();

    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v2", null), ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(20)).until(() -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class)
        .phase() == Phase.PREPARING);
    db.execute("INSERT INTO users (id, email) VALUES (3, 'ada@example.com')"); // the application keeps writing
    ReleaseDocument doc = await().atMost(Duration.ofSeconds(30)).until(
        () -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    assertThat(doc.phase()).isEqualTo(Phase.FAILED);
    assertThat(doc.reason())
        .contains("migration V4 (unique user email) failed")
        .contains("could not create unique index \"users_email_key\"")
        .contains("rolled back whole");
    assertThat(doc.applied()).isEmpty();

    // Nothing of V2..V4 committed: no table, no column, no history rows.
    assertThat(db.queryLong("SELECT count(*) FROM information_schema.tables WHERE table_name = 'products'")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version IN ('2', '3', '4')")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '1' AND success")).isEqualTo(1);

    // Both agents prepared, then aborted; none switched; both still report v1.
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
      List<String> lines = fleet.hookLines().subList(hookLinesBefore, fleet.hookLines().size());
      assertThat(lines.stream().filter(l -> l.contains(" abort " + doc.id()))).hasSize(2);
      assertThat(lines.stream().filter(l -> l.contains(" switch "))).isEmpty();
    });
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(fleet.agentList())
        .allSatisfy(a -> {
          assertThat(a.revision()).isEqualTo("v1");
          assertThat(a.state()).isEqualTo(AgentState.ABORTED);
        })
        .extracting(AgentStatus::id).containsExactly("app-1", "app-2"));
  }
}
