package dev.lockstep.coordinator.release;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseRole;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FleetCheckTest {
  private static final String RELEASE = "r-1";
  private static final String DIGEST = "41aa000000000000000000000000000000000000000000000000000000000000";

  private static ReleaseAgent participant(String id) {
    return new ReleaseAgent(id, AgentState.PREPARING, null, null, null);
  }

  private static FleetCheck.Progress prepare(List<ReleaseAgent> participants, Map<String, AgentStatus> reports) {
    return FleetCheck.prepare(new FleetCheck.PrepareGoal(RELEASE, DIGEST, "v2", Mode.ONLINE, 0), participants, reports,
        Map.of());
  }

  private static FleetCheck.Progress switched(List<ReleaseAgent> participants, Map<String, AgentStatus> reports) {
    return FleetCheck.switched(RELEASE, "v2", participants, reports, Map.of());
  }

  private static AgentStatus report(String id, AgentState state, String release, String digest, String switchedAt, String detail) {
    return new AgentStatus(id, "app", "v1", state, release, 1, digest, detail, switchedAt, "2026-11-26T00:00:00Z");
  }

  @Test
  void prepareIsDoneOnlyWhenEveryAgentPreparedWithTheSameDigest() {
    List<ReleaseAgent> agents = List.of(participant("web-1"), participant("web-2"));
    var half = prepare(agents, Map.of(
        "web-1", report("web-1", AgentState.PREPARED, RELEASE, DIGEST, null, null),
        "web-2", report("web-2", AgentState.PREPARING, RELEASE, null, null, null)));
    assertThat(half.done()).isFalse();
    assertThat(half.failure()).isNull();
    assertThat(half.agents()).extracting(ReleaseAgent::state).containsExactly(AgentState.PREPARED, AgentState.PREPARING);

    var all = prepare(agents, Map.of(
        "web-1", report("web-1", AgentState.PREPARED, RELEASE, DIGEST, null, null),
        "web-2", report("web-2", AgentState.PREPARED, RELEASE, DIGEST, null, null)));
    assertThat(all.done()).isTrue();
  }

  @Test
  void aReportAboutAnEarlierReleaseDoesNotCount() {
    var progress = prepare(List.of(participant("web-1")), Map.of(
        "web-1", report("web-1", AgentState.PREPARED, "r-0", DIGEST, null, null)));
    assertThat(progress.done()).isFalse();
    assertThat(progress.failure()).isNull();
  }

  @Test
  void aMismatchedDigestNamesTheAgentAndBothDigests() {
    var progress = prepare(List.of(participant("web-3")), Map.of(
        "web-3", report("web-3", AgentState.PREPARED, RELEASE, "9f2c11111111", null, null)));
    assertThat(progress.done()).isFalse();
    assertThat(progress.failure()).contains("web-3").contains("9f2c11111111").contains("41aa00000000");
  }

  @Test
  void aRefusedPrepareHookNamesTheAgentAndCarriesItsDetail() {
    var progress = prepare(List.of(participant("web-2")), Map.of(
        "web-2", report("web-2", AgentState.FAILED, RELEASE, null, null, "prepare hook exited 3: disk full")));
    assertThat(progress.failure()).isEqualTo("agent web-2 refused to prepare: prepare hook exited 3: disk full");
  }

  @Test
  void lostAgentsStopTheWaitButUnregisteredOnesAreWaitedFor() {
    var lost = prepare(List.of(participant("web-1")), Map.of(
        "web-1", report("web-1", AgentState.LOST, null, null, null, null)));
    assertThat(lost.failure()).startsWith("agent web-1 was lost during PREPARING");
    var unregistered = prepare(List.of(participant("web-1")), Map.of());
    assertThat(unregistered.failure()).as("the run decides how long an unregistered agent may stay away").isNull();
    assertThat(unregistered.done()).isFalse();
    assertThat(unregistered.unregistered()).containsExactly("web-1");
  }

  @Test
  void switchIsDoneWhenEveryAgentSwitchedAndTheSkewIsLatestMinusEarliest() {
    List<ReleaseAgent> agents = List.of(participant("a"), participant("b"), participant("c"));
    var progress = switched(agents, Map.of(
        "a", report("a", AgentState.SWITCHED, RELEASE, DIGEST, "2026-11-26T00:00:00.010Z", null),
        "b", report("b", AgentState.SERVING, RELEASE, DIGEST, "2026-11-26T00:00:00.050Z", null),
        "c", report("c", AgentState.SWITCHED, RELEASE, DIGEST, "2026-11-26T00:00:00.030Z", null)));
    assertThat(progress.done()).isTrue();
    assertThat(FleetCheck.skewMs(progress.agents())).isEqualTo(40L);
  }

  @Test
  void aFailedSwitchIsReported() {
    var progress = switched(List.of(participant("a")), Map.of(
        "a", report("a", AgentState.FAILED, RELEASE, DIGEST, null, "switch hook timed out after 60s")));
    assertThat(progress.done()).isFalse();
    assertThat(progress.failure()).isEqualTo("agent a failed to switch: switch hook timed out after 60s");
  }

  @Test
  void anAgentThatRestartedOnTheTargetRevisionCountsAsSwitched() {
    var restarted = new AgentStatus("a", "app", "v2", AgentState.SERVING, null, 1, null, null, null, "2026-11-26T00:00:00Z");
    assertThat(switched(List.of(participant("a")), Map.of("a", restarted)).done()).isTrue();
    var stillOld = new AgentStatus("a", "app", "v1", AgentState.SERVING, null, 1, null, null, null, "2026-11-26T00:00:00Z");
    assertThat(switched(List.of(participant("a")), Map.of("a", stillOld)).done()).isFalse();
  }

  @Test
  void skewIsUnknownUntilEveryoneSwitched() {
    assertThat(FleetCheck.skewMs(List.of(new ReleaseAgent("a", AgentState.SWITCHED, null, "2026-11-26T00:00:00Z", null),
        new ReleaseAgent("b", AgentState.PREPARED, null, null, null)))).isNull();
  }

  // ---- readiness mode: new and retiring instances ------------------------------------------------------------

  private static AgentStatus pod(String id, String revision, AgentState state, String release, String digest,
                                 String switchedAt, boolean ready) {
    return new AgentStatus(id, "app", revision, state, release, 1, digest, null, switchedAt, "2026-11-26T00:00:00Z", ready,
        true, 500);
  }

  private static ReleaseAgent fresh(String id) {
    return new ReleaseAgent(id, AgentState.PREPARING, null, null, null, ReleaseRole.NEW);
  }

  private static ReleaseAgent retiring(String id) {
    return new ReleaseAgent(id, AgentState.SERVING, null, null, null, ReleaseRole.RETIRING);
  }

  @Test
  void retiringInstancesAreNotAskedToPrepareInAnOnlineRelease() {
    var progress = FleetCheck.prepare(new FleetCheck.PrepareGoal(RELEASE, DIGEST, "v2", Mode.ONLINE, 1),
        List.of(retiring("old-1"), fresh("new-1")), Map.of(
            "old-1", pod("old-1", "v1", AgentState.SERVING, null, DIGEST, null, true),
            "new-1", pod("new-1", "v2", AgentState.PREPARED, RELEASE, DIGEST, null, false)), Map.of());
    assertThat(progress.done()).isTrue();
  }

  @Test
  void inMaintenanceTheRetiringInstancesMustStopBeforeMigrating() {
    var goal = new FleetCheck.PrepareGoal(RELEASE, DIGEST, "v2", Mode.MAINTENANCE, 1);
    var serving = FleetCheck.prepare(goal, List.of(retiring("old-1"), fresh("new-1")), Map.of(
        "old-1", pod("old-1", "v1", AgentState.SERVING, null, DIGEST, null, true),
        "new-1", pod("new-1", "v2", AgentState.PREPARED, RELEASE, DIGEST, null, false)), Map.of());
    assertThat(serving.done()).isFalse();
    var retired = FleetCheck.prepare(goal, List.of(retiring("old-1"), fresh("new-1")), Map.of(
        "old-1", pod("old-1", "v1", AgentState.RETIRED, RELEASE, DIGEST, "2026-11-26T00:00:01Z", false),
        "new-1", pod("new-1", "v2", AgentState.PREPARED, RELEASE, DIGEST, null, false)), Map.of());
    assertThat(retired.done()).isTrue();
  }

  @Test
  void newInstancesThatAppearJoinAndMinReadyWaitsForEnoughOfThem() {
    var goal = new FleetCheck.PrepareGoal(RELEASE, DIGEST, "v2", Mode.ONLINE, 2);
    var one = FleetCheck.prepare(goal, List.of(fresh("new-1")), Map.of(
        "new-1", pod("new-1", "v2", AgentState.PREPARED, RELEASE, DIGEST, null, false)), Map.of());
    assertThat(one.done()).isFalse();
    assertThat(one.shortfall()).isEqualTo("only 1 of the 2 new instance(s) on v2 the release waits for (--min-ready) prepared");
    var arrived = FleetCheck.prepare(goal, List.of(fresh("new-1")), Map.of(
        "new-1", pod("new-1", "v2", AgentState.PREPARED, RELEASE, DIGEST, null, false),
        "new-2", pod("new-2", "v2", AgentState.SERVING, null, DIGEST, null, false),
        "old-9", pod("old-9", "v1", AgentState.SERVING, null, DIGEST, null, true)), Map.of());
    assertThat(arrived.agents()).extracting(ReleaseAgent::id, ReleaseAgent::role).containsExactly(
        org.assertj.core.groups.Tuple.tuple("new-1", ReleaseRole.NEW), org.assertj.core.groups.Tuple.tuple("new-2", ReleaseRole.NEW),
        org.assertj.core.groups.Tuple.tuple("old-9", ReleaseRole.RETIRING));
    assertThat(arrived.done()).as("new-2 joined but has not prepared").isFalse();
    var both = FleetCheck.prepare(goal, arrived.agents(), Map.of(
        "new-1", pod("new-1", "v2", AgentState.PREPARED, RELEASE, DIGEST, null, false),
        "new-2", pod("new-2", "v2", AgentState.PREPARED, RELEASE, DIGEST, null, false),
        "old-9", pod("old-9", "v1", AgentState.SERVING, null, DIGEST, null, true)), Map.of());
    assertThat(both.done()).isTrue();
  }

  @Test
  void anEphemeralParticipantThatLeftOrWasLostIsGoneNotAFailure() {
    var goal = new FleetCheck.PrepareGoal(RELEASE, DIGEST, "v2", Mode.ONLINE, 1);
    var left = FleetCheck.prepare(goal, List.of(fresh("new-1"), fresh("new-2")), Map.of(
        "new-1", pod("new-1", "v2", AgentState.PREPARED, RELEASE, DIGEST, null, false)),
        Map.of("new-2", new dev.lockstep.coordinator.fleet.AgentRegistry.Departure("left", "2026-11-26T00:00:02Z")));
    assertThat(left.done()).isTrue();
    assertThat(left.agents().get(1).gone()).isTrue();
    assertThat(left.agents().get(1).detail()).isEqualTo("left at 2026-11-26T00:00:02Z during PREPARING");
    var lost = FleetCheck.prepare(goal, List.of(fresh("new-1"), fresh("new-2")), Map.of(
        "new-1", pod("new-1", "v2", AgentState.PREPARED, RELEASE, DIGEST, null, false),
        "new-2", pod("new-2", "v2", AgentState.LOST, RELEASE, null, null, false)), Map.of());
    assertThat(lost.failure()).isNull();
    assertThat(lost.done()).isTrue();
    // A long-lived server that is lost still stops the release: that is the point.
    var server = prepare(List.of(participant("web-1")), Map.of("web-1", report("web-1", AgentState.LOST, null, null, null, null)));
    assertThat(server.failure()).startsWith("agent web-1 was lost");
  }

  @Test
  void theSwitchWaitsForNewInstancesReadyAndOldOnesRetiredAndTheSkewSpansBoth() {
    List<ReleaseAgent> agents = List.of(fresh("new-1"), fresh("new-2"), retiring("old-1"));
    var half = FleetCheck.switched(RELEASE, "v2", agents, Map.of(
        "new-1", pod("new-1", "v2", AgentState.SWITCHED, RELEASE, DIGEST, "2026-11-26T00:00:00.010Z", true),
        "new-2", pod("new-2", "v2", AgentState.SWITCHED, RELEASE, DIGEST, "2026-11-26T00:00:00.030Z", true),
        "old-1", pod("old-1", "v1", AgentState.SERVING, null, DIGEST, null, true)), Map.of());
    assertThat(half.done()).isFalse();
    var all = FleetCheck.switched(RELEASE, "v2", agents, Map.of(
        "new-1", pod("new-1", "v2", AgentState.SWITCHED, RELEASE, DIGEST, "2026-11-26T00:00:00.010Z", true),
        "new-2", pod("new-2", "v2", AgentState.SWITCHED, RELEASE, DIGEST, "2026-11-26T00:00:00.030Z", true),
        "old-1", pod("old-1", "v1", AgentState.RETIRED, RELEASE, DIGEST, "2026-11-26T00:00:00.045Z", false)), Map.of());
    assertThat(all.done()).isTrue();
    assertThat(FleetCheck.skewMs(all.agents())).isEqualTo(35L);
  }

  @Test
  void aRetiringInstanceThatLeftDuringTheSwitchIsNotWaitedForNorInTheSkew() {
    var progress = FleetCheck.switched(RELEASE, "v2", List.of(fresh("new-1"), retiring("old-1")), Map.of(
        "new-1", pod("new-1", "v2", AgentState.SWITCHED, RELEASE, DIGEST, "2026-11-26T00:00:00.010Z", true)),
        Map.of("old-1", new dev.lockstep.coordinator.fleet.AgentRegistry.Departure("left", "2026-11-26T00:00:00.020Z")));
    assertThat(progress.done()).isTrue();
    assertThat(FleetCheck.skewMs(progress.agents())).isEqualTo(0L);
  }
}
