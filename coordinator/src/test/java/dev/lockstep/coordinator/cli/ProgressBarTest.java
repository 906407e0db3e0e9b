package dev.lockstep.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressBarTest {

  @Test
  void showsAgentsThroughThePhaseMigrationsAppliedAndTime() {
    ReleaseDocument preparing = doc(Phase.PREPARING, List.of(agent("a", AgentState.PREPARED, null),
        agent("b", AgentState.PREPARING, null), agent("c", AgentState.PREPARED, null)), List.of());
    assertThat(ProgressBar.render(preparing, Duration.ofMillis(4200)))
        .startsWith("[PREPARING  ] ").contains("agents 2/3 prepared").contains("migrations 0/2 applied").endsWith("4.2s");

    ReleaseDocument migrating = doc(Phase.MIGRATING, preparing.agents(),
        List.of(new AppliedMigration("1", "accounts", "V1__accounts.sql", 412)));
    assertThat(ProgressBar.render(migrating, Duration.ofSeconds(9))).contains("migrations 1/2 applied (V1 412 ms)");

    ReleaseDocument switching = doc(Phase.SWITCHING, List.of(agent("a", AgentState.SWITCHED, "2026-12-01T12:00:00Z"),
        agent("b", AgentState.PREPARED, null)), migrating.applied());
    assertThat(ProgressBar.render(switching, Duration.ofSeconds(10))).contains("agents 1/2 switched");
  }

  @Test
  void theBarFillsAsTheReleaseMovesOn() {
    ReleaseDocument planned = doc(Phase.PLANNED, List.of(), List.of());
    ReleaseDocument completed = doc(Phase.COMPLETED, List.of(), List.of());
    assertThat(ProgressBar.render(planned, Duration.ZERO)).contains("░".repeat(20)).doesNotContain("█");
    assertThat(ProgressBar.render(completed, Duration.ZERO)).contains("█".repeat(20)).doesNotContain("░");
  }

  private static ReleaseAgent agent(String id, AgentState state, String switchedAt) {
    return new ReleaseAgent(id, state, null, switchedAt, null);
  }

  private static ReleaseDocument doc(Phase phase, List<ReleaseAgent> agents, List<AppliedMigration> applied) {
    return new ReleaseDocument.Builder().id("r-1").service("app").revision("v2").schema("2").phase(phase)
        .pending(List.of("V1 (accounts)", "V2 (audits)")).agents(agents).applied(applied).build();
  }
}
