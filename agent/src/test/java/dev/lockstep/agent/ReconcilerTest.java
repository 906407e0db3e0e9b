package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ReconcilerTest {
  private static final String OLD = "rev-old";
  private static final String NEW = "rev-new";

  private static DesiredState desired(String releaseId, Phase phase, long epoch) {
    return new DesiredState("app", 7, epoch, releaseId, phase, NEW, Mode.ONLINE, "digest", "2");
  }

  private static LocalState local(AgentState state, String releaseId, long epoch) {
    return new LocalState(OLD, state, releaseId, epoch, null, null, null);
  }

  private static LocalState fresh() {
    return LocalState.serving(OLD);
  }

  @Nested
  class Epochs {
    @Test
    void lowerEpochIsIgnoredWhateverItSays() {
      LocalState prepared = local(AgentState.PREPARED, "r1", 5);

      Action action = Reconciler.decide(prepared, desired("r1", Phase.ABORTED, 4));

      assertThat(action).isEqualTo(new Action.IgnoreStale(desired("r1", Phase.ABORTED, 4), 5));
    }

    @Test
    void equalEpochIsFollowed() {
      Action action = Reconciler.decide(local(AgentState.PREPARED, "r1", 5), desired("r1", Phase.ABORTED, 5));

      assertThat(action).isInstanceOf(Action.Abort.class);
    }

    @Test
    void higherEpochIsFollowed() {
      Action action = Reconciler.decide(local(AgentState.SERVING, null, 5), desired("r2", Phase.PREPARING, 6));

      assertThat(action).isInstanceOf(Action.Prepare.class);
    }
  }

  @Nested
  class NoRelease {
    @Test
    void nothingWithoutReleaseId() {
      assertThat(Reconciler.decide(fresh(), DesiredState.none("app"))).isInstanceOf(Action.Nothing.class);
    }

    @Test
    void nothingWithoutPhase() {
      DesiredState noPhase = new DesiredState("app", 1, 1, "r1", null, NEW, Mode.ONLINE, null, null);

      assertThat(Reconciler.decide(fresh(), noPhase)).isInstanceOf(Action.Nothing.class);
    }

    @ParameterizedTest
    @EnumSource(value = Phase.class, names = {"PLANNED", "PREFLIGHT"})
    void nothingBeforePreparing(Phase phase) {
      assertThat(Reconciler.decide(fresh(), desired("r1", phase, 1))).isInstanceOf(Action.Nothing.class);
    }
  }

  @Nested
  class Preparing {
    @ParameterizedTest
    @EnumSource(value = Phase.class, names = {"PREPARING", "MIGRATING"})
    void freshAgentPrepares(Phase phase) {
      assertThat(Reconciler.decide(fresh(), desired("r1", phase, 1))).isInstanceOf(Action.Prepare.class);
    }

    @ParameterizedTest
    @EnumSource(value = AgentState.class, names = {"PREPARING", "PREPARED", "FAILED"})
    void alreadyPreparedOrFailedForThisReleaseDoesNothing(AgentState state) {
      assertThat(Reconciler.decide(local(state, "r1", 1), desired("r1", Phase.PREPARING, 1)))
          .isInstanceOf(Action.Nothing.class);
      assertThat(Reconciler.decide(local(state, "r1", 1), desired("r1", Phase.MIGRATING, 1)))
          .isInstanceOf(Action.Nothing.class);
    }

    @Test
    void preparedForAnEarlierReleasePreparesAgain() {
      assertThat(Reconciler.decide(local(AgentState.PREPARED, "r0", 1), desired("r1", Phase.PREPARING, 1)))
          .isInstanceOf(Action.Prepare.class);
    }

    @Test
    void failedForAnEarlierReleasePreparesTheNewOne() {
      assertThat(Reconciler.decide(local(AgentState.FAILED, "r0", 1), desired("r1", Phase.PREPARING, 2)))
          .isInstanceOf(Action.Prepare.class);
    }
  }

  @Nested
  class Switching {
    @Test
    void preparedAgentSwitchesWithoutPreparingAgain() {
      Action action = Reconciler.decide(local(AgentState.PREPARED, "r1", 1), desired("r1", Phase.SWITCHING, 1));

      assertThat(action).isEqualTo(new Action.Switch(desired("r1", Phase.SWITCHING, 1), false));
    }

    @Test
    void returningAgentCatchesUpByPreparingThenSwitching() {
      Action action = Reconciler.decide(fresh(), desired("r1", Phase.SWITCHING, 1));

      assertThat(action).isEqualTo(new Action.Switch(desired("r1", Phase.SWITCHING, 1), true));
    }

    @Test
    void agentBehindACompletedReleaseCatchesUp() {
      Action action = Reconciler.decide(local(AgentState.SERVING, "r0", 3), desired("r1", Phase.COMPLETED, 3));

      assertThat(action).isEqualTo(new Action.Switch(desired("r1", Phase.COMPLETED, 3), true));
    }

    @Test
    void agentAbortedForAnEarlierReleaseCatchesUpWithTheNewOne() {
      Action action = Reconciler.decide(local(AgentState.ABORTED, "r0", 1), desired("r1", Phase.SWITCHING, 1));

      assertThat(action).isEqualTo(new Action.Switch(desired("r1", Phase.SWITCHING, 1), true));
    }

    @ParameterizedTest
    @EnumSource(value = AgentState.class, names = {"SWITCHING", "SWITCHED", "FAILED", "ABORTED", "SERVING"})
    void switchedFailedOrAbortedForThisReleaseIsNotRetried(AgentState state) {
      assertThat(Reconciler.decide(local(state, "r1", 1), desired("r1", Phase.SWITCHING, 1)))
          .isInstanceOf(Action.Nothing.class);
    }

    @Test
    void switchFailureIsNotRetriedWhenTheReleaseCompletes() {
      assertThat(Reconciler.decide(local(AgentState.FAILED, "r1", 1), desired("r1", Phase.COMPLETED, 1)))
          .isInstanceOf(Action.Nothing.class);
    }

    @Test
    void preparedAgentAlreadyOnTargetStillRunsItsSwitchHook() {
      // Maintenance mode: prepare stopped serving; only switch brings the server back, even on the same code.
      LocalState prepared = new LocalState(NEW, AgentState.PREPARED, "r1", 1, "d", null, null);

      assertThat(Reconciler.decide(prepared, desired("r1", Phase.SWITCHING, 1)))
          .isEqualTo(new Action.Switch(desired("r1", Phase.SWITCHING, 1), false));
    }

    @Test
    void agentAlreadyOnTargetDuringSwitchingDoesNothing() {
      LocalState onTarget = LocalState.serving(NEW);

      assertThat(Reconciler.decide(onTarget, desired("r1", Phase.SWITCHING, 1))).isInstanceOf(Action.Nothing.class);
    }

    @Test
    void desiredStateWithoutTargetRevisionIsNotSwitchedTo() {
      DesiredState noTarget = new DesiredState("app", 1, 1, "r1", Phase.SWITCHING, null, Mode.ONLINE, null, null);

      assertThat(Reconciler.decide(fresh(), noTarget)).isInstanceOf(Action.Nothing.class);
    }
  }

  @Nested
  class Completed {
    @Test
    void switchedAgentServesOnceTheReleaseCompletes() {
      LocalState switched = new LocalState(NEW, AgentState.SWITCHED, "r1", 1, "d", null, "2025-01-01T00:00:00Z");

      assertThat(Reconciler.decide(switched, desired("r1", Phase.COMPLETED, 1))).isInstanceOf(Action.Serve.class);
    }

    @Test
    void whileTheContractWaitsASwitchedAgentServesAndALateOneCatchesUp() {
      LocalState switched = new LocalState(NEW, AgentState.SWITCHED, "r1", 1, "d", null, "2025-01-01T00:00:00Z");
      assertThat(Reconciler.decide(switched, desired("r1", Phase.CONTRACTING, 1))).isInstanceOf(Action.Serve.class);
      // A server that comes back on the old code catches up, which is what the contract waits for.
      assertThat(Reconciler.decide(local(AgentState.SERVING, "r0", 1), desired("r1", Phase.CONTRACTING, 1)))
          .isInstanceOf(Action.Switch.class);
    }

    @Test
    void agentAlreadyOnTargetServes() {
      assertThat(Reconciler.decide(LocalState.serving(NEW), desired("r1", Phase.COMPLETED, 1)))
          .isInstanceOf(Action.Serve.class);
    }

    @Test
    void servingForTheCompletedReleaseIsConverged() {
      LocalState serving = new LocalState(NEW, AgentState.SERVING, "r1", 1, "d", null, "2025-01-01T00:00:00Z");

      assertThat(Reconciler.decide(serving, desired("r1", Phase.COMPLETED, 1))).isInstanceOf(Action.Nothing.class);
    }

    @Test
    void servingKeepsTheReleaseAndSwitchTime() {
      LocalState switched = new LocalState(NEW, AgentState.SWITCHED, "r1", 1, "d", null, "2025-01-01T00:00:00Z");

      LocalState serving = switched.servingRelease("r1");

      assertThat(serving).isEqualTo(new LocalState(NEW, AgentState.SERVING, "r1", 1, "d", null,
          "2025-01-01T00:00:00Z"));
    }

    @Test
    void switchedAgentRevisionDifferentFromTargetIsNotSwitchedAgain() {
      // The revision command may report something else than the target; switching again would loop for ever.
      LocalState switched = new LocalState("what-is-really-there", AgentState.SWITCHED, "r1", 1, null, null, "t");

      assertThat(Reconciler.decide(switched, desired("r1", Phase.SWITCHING, 1))).isInstanceOf(Action.Nothing.class);
      assertThat(Reconciler.decide(switched, desired("r1", Phase.COMPLETED, 1))).isInstanceOf(Action.Serve.class);
    }
  }

  @Nested
  class Aborting {
    @ParameterizedTest
    @EnumSource(value = AgentState.class, names = {"PREPARING", "PREPARED", "FAILED"})
    void preparedAgentAborts(AgentState state) {
      assertThat(Reconciler.decide(local(state, "r1", 1), desired("r1", Phase.ABORTED, 1)))
          .isInstanceOf(Action.Abort.class);
      assertThat(Reconciler.decide(local(state, "r1", 1), desired("r1", Phase.FAILED, 1)))
          .isInstanceOf(Action.Abort.class);
    }

    @ParameterizedTest
    @EnumSource(value = Phase.class, names = {"ABORTED", "FAILED"})
    void switchedAgentIgnoresTheEnd(Phase phase) {
      LocalState switched = new LocalState(NEW, AgentState.SWITCHED, "r1", 1, "d", null, "t");

      assertThat(Reconciler.decide(switched, desired("r1", phase, 1))).isInstanceOf(Action.Nothing.class);
    }

    @ParameterizedTest
    @EnumSource(value = Phase.class, names = {"ABORTED", "FAILED"})
    void agentThatNeverTookPartDoesNothing(Phase phase) {
      assertThat(Reconciler.decide(fresh(), desired("r1", phase, 1))).isInstanceOf(Action.Nothing.class);
      assertThat(Reconciler.decide(local(AgentState.PREPARED, "r0", 1), desired("r1", phase, 1)))
          .isInstanceOf(Action.Nothing.class);
    }

    @Test
    void aFailedNonAtomicMaintenanceReleaseMakesPreparedAgentsHoldInsteadOfGoingBack() {
      DesiredState hold = new DesiredState("app", 7, 1, "r1", Phase.FAILED, NEW, Mode.MAINTENANCE, "digest", "3", true);
      assertThat(Reconciler.decide(local(AgentState.PREPARED, "r1", 1), hold)).isEqualTo(new Action.Hold(hold));
      assertThat(Reconciler.decide(local(AgentState.HOLDING, "r1", 1), hold)).isInstanceOf(Action.Nothing.class);
      LocalState switched = new LocalState(NEW, AgentState.SWITCHED, "r1", 1, "d", null, "t");
      assertThat(Reconciler.decide(switched, hold)).isInstanceOf(Action.Nothing.class);
    }

    @Test
    void abortedAgentDoesNotAbortTwice() {
      assertThat(Reconciler.decide(local(AgentState.ABORTED, "r1", 1), desired("r1", Phase.ABORTED, 1)))
          .isInstanceOf(Action.Nothing.class);
    }
  }
}
