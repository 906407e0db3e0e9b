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
 * Every PostgreSQL connection of the coordinator is cut ({@code pg_terminate_backend}) while the
 * fleet prepares — the pool's and the run's own session with its advisory lock. The pool replaces the
 * cut connections (PostgreSQL tells the client it terminated them), the run keeps its epoch (no one
 * else bumped it) and completes the release. (The store's retry on a lost connection is for
 * connections handed out already dead, which this cut does not produce: the test passes without it.)
 */
class PostgresConnectionLossIT {
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("PostgresConnectionLossIT");
    fleet = new Fleet("PostgresConnectionLossIT", db);
    Path migrations = fleet.migrations("story");
    fleet.startCoordinator(migrations);
    fleet.startSlowAgent("p-1", "v0", migrations, "sleep 3 && ");
    fleet.startAgent("p-2", "v0", migrations);
    fleet.awaitAgents("p-1", "p-2");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void aReleaseCompletesAfterEveryDatabaseConnectionOfTheCoordinatorWasCut() {
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(20)).until(() -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class)
        .phase() == Phase.PREPARING);
    long cut = db.queryLong("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()"
        + " AND application_name IN ('lockstep-coordinator/" + fleet.service + "', 'lockstep-run/" + fleet.service + "')");
    assertThat(cut).isGreaterThanOrEqualTo(2);

    ReleaseDocument end = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).until(
        () -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(end.epoch()).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE success")).isEqualTo(2);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(fleet.agentList())
        .extracting(AgentStatus::revision).containsExactly("v1", "v1"));
  }
}
