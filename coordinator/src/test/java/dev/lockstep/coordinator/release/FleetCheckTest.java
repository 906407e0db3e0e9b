package dev.lockstep.coordinator.release;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.ReleaseAgent;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FleetCheckTest {
  private static final String RELEASE = "r-1";
  private static final String DIGEST = "41aa000000000000000000000000000000000000000000000000000000000000";

  private static ReleaseAgent participant(String id) {
    return new ReleaseAgent(id, AgentState.PREPARING, null, null, null);
  }

  private static AgentStatus report(String id, AgentState state, String release, String digest, String switchedAt, String detail) {
    return new AgentStatus(id, "app", "v1", state, release, 1, digest, detail, switchedAt, "2026-11-26T00:00:00Z");
  }

  @Test
  void prepareIsDoneOnlyWhenEveryAgentPreparedWithTheSameDigest() {
    List<ReleaseAgent> agents = List.of(participant("web-1"), participant("web-2"));
    var half = FleetCheck.prepare(RELEASE, DIGEST, agents, Map.of(
        "web-1", report("web-1", AgentState.PREPARED, RELEASE, DIGEST, null, null),
        "web-2", report("web-2", AgentState.PREPARING, RELEASE, null, null, null)));
    assertThat(half.done()).isFalse();
    assertThat(half.failure()).isNull();
    assertThat(half.agents()).extracting(ReleaseAgent::state).containsExactly(AgentState.PREPARED, AgentState.PREPARING);

    var all = FleetCheck.prepare(RELEASE, DIGEST, agents, Map.of(
        "web-1", report("web-1", AgentState.PREPARED, RELEASE, DIGEST, null, null),
        "web-2", report("web-2", AgentState.PREPARED, RELEASE, DIGEST, null, null)));
    assertThat(all.done()).isTrue();
  }

  @Test
  void aReportAboutAnEarlierReleaseDoesNotCount() {
    var progress = FleetCheck.prepare(RELEASE, DIGEST, List.of(participant("web-1")), Map.of(
        "web-1", report("web-1", AgentState.PREPARED, "r-0", DIGEST, null, null)));
    assertThat(progress.done()).isFalse();
    assertThat(progress.failure()).isNull();
  }

  @Test
  void aMismatchedDigestNamesTheAgentAndBothDigests() {
    var progress = FleetCheck.prepare(RELEASE, DIGEST, List.of(participant("web-3")), Map.of(
        "web-3", report("web-3", AgentState.PREPARED, RELEASE, "9f2c11111111", null, null)));
    assertThat(progress.done()).isFalse();
    assertThat(progress.failure()).contains("web-3").contains("9f2c11111111").contains("41aa00000000");
  }

  @Test
  void aRefusedPrepareHookNamesTheAgentAndCarriesItsDetail() {
    var progress = FleetCheck.prepare(RELEASE, DIGEST, List.of(participant("web-2")), Map.of(
        "web-2", report("web-2", AgentState.FAILED, RELEASE, null, null, "prepare hook exited 3: disk full")));
    assertThat(progress.failure()).isEqualTo("agent web-2 refused to prepare: prepare hook exited 3: disk full");
  }

  @Test
  void lostAgentsStopTheWaitButUnregisteredOnesAreWaitedFor() {
    var lost = FleetCheck.prepare(RELEASE, DIGEST, List.of(participant("web-1")), Map.of(
        "web-1", report("web-1", AgentState.LOST, null, null, null, null)));
    assertThat(lost.failure()).startsWith("agent web-1 was lost during PREPARING");
    var unregistered = FleetCheck.prepare(RELEASE, DIGEST, List.of(participant("web-1")), Map.of());
    assertThat(unregistered.failure()).as("the run decides how long an unregistered agent may stay away").isNull();
    assertThat(unregistered.done()).isFalse();
    assertThat(unregistered.unregistered()).containsExactly("web-1");
  }

  @Test
  void switchIsDoneWhenEveryAgentSwitchedAndTheSkewIsLatestMinusEarliest() {
    List<ReleaseAgent> agents = List.of(participant("a"), participant("b"), participant("c"));
    var progress = FleetCheck.switched(RELEASE, "v2", agents, Map.of(
        "a", report("a", AgentState.SWITCHED, RELEASE, DIGEST, "2026-11-26T00:00:00.010Z", null),
        "b", report("b", AgentState.SERVING, RELEASE, DIGEST, "2026-11-26T00:00:00.050Z", null),
        "c", report("c", AgentState.SWITCHED, RELEASE, DIGEST, "2026-11-26T00:00:00.030Z", null)));
    assertThat(progress.done()).isTrue();
    assertThat(FleetCheck.skewMs(progress.agents())).isEqualTo(40L);
  }

  @Test
  void aFailedSwitchIsReported() {
    var progress = FleetCheck.switched(RELEASE, "v2", List.of(participant("a")), Map.of(
        "a", report("a", AgentState.FAILED, RELEASE, DIGEST, null, "switch hook timed out after 60s")));
    assertThat(progress.done()).isFalse();
    assertThat(progress.failure()).isEqualTo("agent a failed to switch: switch hook timed out after 60s");
  }

  @Test
  void anAgentThatRestartedOnTheTargetRevisionCountsAsSwitched() {
    var restarted = new AgentStatus("a", "app", "v2", AgentState.SERVING, null, 1, null, null, null, "2026-11-26T00:00:00Z");
    assertThat(FleetCheck.switched(RELEASE, "v2", List.of(participant("a")), Map.of("a", restarted)).done()).isTrue();
    var stillOld = new AgentStatus("a", "app", "v1", AgentState.SERVING, null, 1, null, null, null, "2026-11-26T00:00:00Z");
    assertThat(FleetCheck.switched(RELEASE, "v2", List.of(participant("a")), Map.of("a", stillOld)).done()).isFalse();
  }

  @Test
  void skewIsUnknownUntilEveryoneSwitched() {
    assertThat(FleetCheck.skewMs(List.of(new ReleaseAgent("a", AgentState.SWITCHED, null, "2026-11-26T00:00:00Z", null),
        new ReleaseAgent("b", AgentState.PREPARED, null, null, null)))).isNull();
  }
}
