package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An agent that goes silent (its process paused with SIGSTOP) becomes lost; a release refuses to
 * start and names it; {@code --allow-lost} proceeds without it; when it wakes, it catches up by
 * itself (prepare, then switch).
 */
class LostAgentIT {
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("LostAgentIT");
    fleet = new Fleet("LostAgentIT", db);
    Path migrations = fleet.migrations("story");
    fleet.startCoordinator(migrations);
    fleet.startAgent("api-1", "v1", migrations);
    fleet.startAgent("api-2", "v1", migrations);
    fleet.awaitAgents("api-1", "api-2");
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
    db.close();
  }

  @Test
  void aLostAgentBlocksTheReleaseUntilTheOperatorAllowsItAndThenCatchesUp() {
    Fleet.signal(fleet.agent("api-2").pid(), "STOP");
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(fleet.agentList())
        .filteredOn(a -> a.id().equals("api-2")).extracting(AgentStatus::state).containsExactly(AgentState.LOST));

    Fleet.CliRun refused = fleet.cli("release", "--revision", "v2");
    assertThat(refused.exit()).isEqualTo(2);
    assertThat(refused.err()).contains("agent api-2 is lost").contains("--allow-lost").contains("DELETE /v1/agents/api-2");
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.releases")).as("a refused release leaves no trace").isZero();

    Fleet.CliRun allowed = fleet.cli("release", "--revision", "v2", "--allow-lost", "--json");
    assertThat(allowed.exit()).as(allowed.out() + allowed.err()).isZero();
    ReleaseDocument doc = Json.read(allowed.out(), ReleaseDocument.class);
    assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(doc.agents()).extracting(ReleaseAgent::id).containsExactly("api-1");

    // The paused server wakes on old code, sees the desired state and catches up: prepare, then switch.
    Fleet.signal(fleet.agent("api-2").pid(), "CONT");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(fleet.agentList())
        .filteredOn(a -> a.id().equals("api-2")).extracting(AgentStatus::revision).containsExactly("v2"));
    assertThat(fleet.hookLines()).anyMatch(l -> l.contains("api-2 prepare " + doc.id()))
        .anyMatch(l -> l.contains("api-2 switch " + doc.id()));
  }
}
