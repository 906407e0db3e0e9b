package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An agent killed with kill -9 in the middle of its switch hook. The kernel does not kill the hook with it: the
 * shell carries on, and would finish its switch beside the one the restarted agent runs when it catches up
 * (the fault matrix saw two switches of one agent). The restarted agent stops the leftover hook first, so the
 * switch runs once at a time and ends once.
 */
class AgentCrashIT {
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("AgentCrashIT");
    fleet = new Fleet("AgentCrashIT", db);
    Path migrations = fleet.migrations("story");
    // The default silence, not the fleet's 3 s: a restarted JVM on a busy machine may take more than 3 s to report.
    fleet.startCoordinator(migrations, "--lost-after", "10s");
    fleet.startAgent(Fleet.AgentSpec.of("w-1", "v1", migrations).switchingFor(4));
    fleet.awaitAgents("w-1");
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
    db.close();
  }

  @Test
  void aHookLeftRunningByAKilledAgentIsStoppedByItsNextLifeAndTheSwitchEndsOnce() throws Exception {
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v2", null), ReleaseDocument.class);
    Process agent = fleet.agent("w-1");
    // The switch hook is running: its shell and the shell's sleep are the agent's children.
    List<ProcessHandle> hook = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
        .until(() -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class).phase() == Phase.SWITCHING
            ? agent.descendants().toList() : List.<ProcessHandle>of(), h -> h.size() >= 2);
    long hookSeenAt = System.nanoTime(); // the leftover hook began before this

    agent.destroyForcibly(); // kill -9 of the agent alone, as the OOM killer would do it
    agent.waitFor();
    assertThat(hook).as("the hook outlives its agent").anyMatch(ProcessHandle::isAlive);
    fleet.restartAgent("w-1");

    ReleaseDocument end = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(hook).noneMatch(ProcessHandle::isAlive));
    // Past the moment the leftover hook would have finished its switch (4 s after it started, so before hookSeenAt
    // + 4 s). The next life's own switch hook also took 4 s and began after the restart, so at COMPLETED that moment
    // has normally passed already and this does not wait at all.
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
        .until(() -> System.nanoTime() - hookSeenAt >= Duration.ofMillis(4_500).toNanos());
    assertThat(fleet.hookLines()).filteredOn(l -> l.contains(" w-1 switch " + started.id())).hasSize(1);
    assertThat(Files.readString(fleet.dir.resolve("agent-w-1.log")))
        .contains("the switch hook that this agent's previous run started is still running (pids ");
    assertThat(fleet.agentList()).filteredOn(a -> a.id().equals("w-1")).extracting(AgentStatus::revision)
        .containsExactly("v2");
  }
}
