package dev.lockstep.coordinator.release;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRole;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** When the contract may run: no agent of the service on another revision, with the exceptions DESIGN.md names. */
class ContractCheckTest {
  private static final ReleaseDocument DOC = new ReleaseDocument.Builder().id("r-1").service("app").revision("v2")
      .agents(List.of(new ReleaseAgent("a-1", AgentState.SWITCHED, null, "2026-12-07T04:00:00Z", null),
          new ReleaseAgent("old-1", AgentState.RETIRED, null, "2026-12-07T04:00:01Z", null, ReleaseRole.RETIRING, false)))
      .build();

  @Test
  void everyAgentOnTheTargetRevisionLetsItRun() {
    assertThat(ContractCheck.waitingFor(DOC, List.of(agent("a-1", "v2", AgentState.SERVING, false),
        agent("a-2", "v2", AgentState.LOST, false)), Map.of())).isEmpty();
  }

  @Test
  void anAgentOnAnotherRevisionHoldsItBackNamedWithWhatItRuns() {
    assertThat(ContractCheck.waitingFor(DOC, List.of(agent("a-1", "v2", AgentState.SERVING, false),
        agent("a-9", "v1", AgentState.SERVING, false)), Map.of())).containsExactly("a-9 on v1 (serving)");
  }

  @Test
  void aLongLivedServerThatWentSilentOnOldCodeHoldsItBackAPodThatWentDoesNot() {
    assertThat(ContractCheck.waitingFor(DOC, List.of(agent("a-1", "v2", AgentState.SERVING, false),
        agent("vm-3", "v1", AgentState.LOST, false), agent("pod-7", "v1", AgentState.LOST, true)), Map.of()))
        .containsExactly("vm-3 on v1 (lost since 2026-12-07T03:59:00Z)");
  }

  @Test
  void aRetiredInstanceNoLongerHoldsItBack() {
    assertThat(ContractCheck.waitingFor(DOC, List.of(agent("a-1", "v2", AgentState.SERVING, false),
        agent("old-1", "v1", AgentState.RETIRED, true)), Map.of())).isEmpty();
    assertThat(ContractCheck.waitingFor(DOC, List.of(agent("a-1", "v2", AgentState.SERVING, false),
        agent("old-1", "v1", AgentState.SERVING, true)), Map.of())).containsExactly("old-1 on v1 (serving)");
  }

  @Test
  void aParticipantMissingFromTheRegistryHoldsItBackUnlessItLeft() {
    // Redis restarted empty: nobody can tell what a-1 runs until it reports again.
    assertThat(ContractCheck.waitingFor(DOC, List.of(), Map.of("old-1", new AgentRegistry.Departure("left", "now"))))
        .containsExactly("a-1 (not in the registry: it has not reported since Redis lost it)");
    assertThat(ContractCheck.waitingFor(DOC, List.of(), Map.of("a-1", new AgentRegistry.Departure("left", "now"),
        "old-1", new AgentRegistry.Departure("left", "now")))).isEmpty();
  }

  private static AgentStatus agent(String id, String revision, AgentState state, boolean ephemeral) {
    return new AgentStatus(id, "app", revision, state, null, 0, null, null, null, "2026-12-07T03:59:00Z", null, ephemeral,
        2000);
  }
}
