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

/**
 * Readiness mode's rules, as DESIGN.md ("Containers and Kubernetes") gives them, and the readiness-mode decisions of
 * {@link Reconciler} that drive the state they read: an old instance on v1 and a new one on v2 through a release from
 * v1 to v2, in both modes, and how it ends.
 */
class ReadinessTest {
  private static final String V1 = "v1";
  private static final String V2 = "v2";
  private static final String DIGEST = "aa11";

  private static DesiredState desired(Phase phase, Mode mode, String released) {
    return new DesiredState("app", 7, 3, "r-2", phase, V2, mode, DIGEST, "2", false, released);
  }

  /** As the coordinator says it once every new instance is ready (online) or from PREPARING (maintenance). */
  private static DesiredState retiring(Phase phase, Mode mode, String released) {
    return new DesiredState("app", 8, 3, "r-2", phase, V2, mode, DIGEST, "2", false, released, true);
  }

  private static LocalState old() {
    return LocalState.serving(V1);
  }

  private static LocalState fresh() {
    return LocalState.serving(V2).withDigest(DIGEST);
  }

  private static boolean ready(LocalState local, DesiredState desired) {
    return Readiness.decide(local, desired).ready();
  }

  @Test
  void nothingIsReadyBeforeTheCoordinatorAnswers() {
    assertThat(Readiness.decide(old(), null)).isEqualTo(Readiness.NOT_YET);
  }

  @Test
  void aServiceWithoutAnyReleaseHasNoReadyInstance() {
    Readiness r = Readiness.decide(old(), DesiredState.none("app"));
    assertThat(r.ready()).isFalse();
    assertThat(r.reason()).contains("no release of service app has completed yet");
  }

  @Nested
  class Online {
    @ParameterizedTest
    @EnumSource(value = Phase.class, names = {"PREPARING", "MIGRATING"})
    void beforeTheSwitchTheOldServesAndTheNewWaits(Phase phase) {
      assertThat(ready(old(), desired(phase, Mode.ONLINE, V1))).isTrue();
      Readiness fresh = Readiness.decide(fresh(), desired(phase, Mode.ONLINE, V1));
      assertThat(fresh.ready()).isFalse();
      assertThat(fresh.reason()).contains("new instance on v2: waiting for release r-2 to switch (now " + phase + ")");
    }

    @Test
    void atTheSwitchTheNewTurnsReadyOnceSwitchedAndTheOldRetiresOnlyWhenTold() {
      DesiredState switching = desired(Phase.SWITCHING, Mode.ONLINE, V1);
      assertThat(ready(old(), switching)).as("the new instances are not all ready yet").isTrue();
      assertThat(Readiness.decide(old(), switching).reason())
          .isEqualTo("serving released revision v1 until the new instances on v2 are ready");
      assertThat(Readiness.decide(old(), retiring(Phase.SWITCHING, Mode.ONLINE, V1)).reason())
          .isEqualTo("retired: release r-2 moved service app to v2");
      assertThat(ready(old(), retiring(Phase.SWITCHING, Mode.ONLINE, V1))).isFalse();
      LocalState prepared = fresh().enter("r-2", AgentState.PREPARED).withDigest(DIGEST);
      assertThat(ready(prepared, switching)).as("switch hook not run yet").isFalse();
      assertThat(ready(prepared.with(AgentState.SWITCHING), switching)).isFalse();
      assertThat(ready(prepared.switched(V2, "2026-12-07T00:00:00Z"), switching)).isTrue();
    }

    @Test
    void afterTheReleaseOnlyTheNewRevisionServes() {
      DesiredState completed = desired(Phase.COMPLETED, Mode.ONLINE, V2);
      assertThat(ready(old(), completed)).isFalse();
      assertThat(ready(fresh().servingRelease("r-2").withDigest(DIGEST), completed)).isTrue();
      // A pod of the new revision started later (a scale-up, a replaced pod) is ready as soon as it hears.
      assertThat(ready(fresh(), completed)).isTrue();
    }

    @Test
    void whileTheContractWaitsTheNewRevisionServesAndTheOldIsRetired() {
      // CONTRACTING: every instance was switched; the removals wait for the last old one to go.
      DesiredState contracting = desired(Phase.CONTRACTING, Mode.ONLINE, V2);
      assertThat(ready(old(), contracting)).as("an old instance takes no traffic while the contract waits").isFalse();
      assertThat(Readiness.decide(old(), contracting).reason()).startsWith("retired: release r-2");
      assertThat(ready(fresh().servingRelease("r-2").withDigest(DIGEST), contracting)).isTrue();
      assertThat(ready(fresh().enter("r-2", AgentState.PREPARED).withDigest(DIGEST).switched(V2, "2026-12-07T00:00:00Z"),
          contracting)).isTrue();
    }

    @Test
    void aLateInstanceWithOtherMigrationsIsNotReady() {
      Readiness r = Readiness.decide(LocalState.serving(V2).withDigest("bb22"), desired(Phase.COMPLETED, Mode.ONLINE, V2));
      assertThat(r.ready()).isFalse();
      assertThat(r.reason()).contains("digest bb22").contains("not those release r-2 applied (aa11)");
    }

    @ParameterizedTest
    @EnumSource(value = Phase.class, names = {"ABORTED", "FAILED"})
    void aReleaseThatEndsBadlyLeavesTheOldServingAndTheNewUnready(Phase end) {
      assertThat(ready(old(), desired(end, Mode.ONLINE, V1))).isTrue();
      Readiness fresh = Readiness.decide(fresh().enter("r-2", AgentState.ABORTED), desired(end, Mode.ONLINE, V1));
      assertThat(fresh.ready()).isFalse();
      assertThat(fresh.reason()).contains("release r-2 ended " + end).contains("not the released revision v1");
    }

    @Test
    void aReleaseOfTheRevisionAlreadyServedKeepsItsInstancesReady() {
      DesiredState again = new DesiredState("app", 7, 3, "r-3", Phase.PREPARING, V2, Mode.ONLINE, DIGEST, "3", false, V2);
      LocalState serving = fresh().servingRelease("r-2").withDigest(DIGEST);
      assertThat(ready(serving, again)).isTrue();
      assertThat(ready(serving.enter("r-3", AgentState.PREPARED), again)).isTrue();
      DesiredState switching = new DesiredState("app", 8, 3, "r-3", Phase.SWITCHING, V2, Mode.ONLINE, DIGEST, "3", false,
          V2);
      assertThat(ready(serving.enter("r-3", AgentState.SWITCHING), switching)).as("no gap while its hook runs").isTrue();
    }
  }

  @Nested
  class Maintenance {
    @ParameterizedTest
    @EnumSource(value = Phase.class, names = {"PREPARING", "MIGRATING"})
    void noInstanceServesWhileTheSchemaChanges(Phase phase) {
      assertThat(ready(old(), desired(phase, Mode.MAINTENANCE, V1))).isFalse();
      assertThat(ready(fresh(), desired(phase, Mode.MAINTENANCE, V1))).isFalse();
      assertThat(Readiness.decide(old(), desired(phase, Mode.MAINTENANCE, V1)).reason())
          .contains("maintenance release r-2 stopped the old code");
    }

    @Test
    void anAbortBringsTheOldBackAndAHoldKeepsItOut() {
      assertThat(ready(old().retired("r-2", "t"), desired(Phase.ABORTED, Mode.MAINTENANCE, V1))).isTrue();
      LocalState holding = old().retired("r-2", "t").with(AgentState.HOLDING);
      assertThat(ready(holding, new DesiredState("app", 9, 3, "r-2", Phase.FAILED, V2, Mode.MAINTENANCE, DIGEST, "2",
          true, V1))).isFalse();
    }
  }

  @Nested
  class Decisions {
    @Test
    void aRetiringInstanceNeverPreparesAndRetiresAtTheSwitch() {
      assertThat(Reconciler.decide(old(), desired(Phase.PREPARING, Mode.ONLINE, V1), true)).isInstanceOf(Action.Nothing.class);
      assertThat(Reconciler.decide(old(), desired(Phase.PREPARING, Mode.ONLINE, V1), false))
          .as("a long-lived server prepares in place").isInstanceOf(Action.Prepare.class);
      assertThat(Reconciler.decide(old(), desired(Phase.SWITCHING, Mode.ONLINE, V1), true))
          .as("until every new instance is ready").isInstanceOf(Action.Nothing.class);
      assertThat(Reconciler.decide(old(), retiring(Phase.SWITCHING, Mode.ONLINE, V1), true)).isInstanceOf(Action.Retire.class);
      assertThat(Reconciler.decide(old().retired("r-2", "t"), retiring(Phase.SWITCHING, Mode.ONLINE, V1), true))
          .isInstanceOf(Action.Nothing.class);
      assertThat(Reconciler.decide(old().servingRelease("r-1"), desired(Phase.COMPLETED, Mode.ONLINE, V2), true))
          .as("an instance that served and missed the switch").isInstanceOf(Action.Retire.class);
      assertThat(Reconciler.decide(LocalState.serving("v3"), desired(Phase.COMPLETED, Mode.ONLINE, V2), true))
          .as("a pod of a newer revision waits for its own release").isInstanceOf(Action.Nothing.class);
      assertThat(Reconciler.decide(old().retired("r-2", "t"), desired(Phase.COMPLETED, Mode.ONLINE, V2), true))
          .isInstanceOf(Action.Nothing.class);
    }

    @Test
    void inMaintenanceItRetiresAtPreparingAndComesBackOnAbort() {
      assertThat(Reconciler.decide(old(), retiring(Phase.PREPARING, Mode.MAINTENANCE, V1), true))
          .isInstanceOf(Action.Retire.class);
      LocalState retired = old().retired("r-2", "t");
      assertThat(Reconciler.decide(retired, desired(Phase.MIGRATING, Mode.MAINTENANCE, V1), true))
          .isInstanceOf(Action.Nothing.class);
      assertThat(Reconciler.decide(retired, desired(Phase.ABORTED, Mode.MAINTENANCE, V1), true))
          .isInstanceOf(Action.Abort.class);
      assertThat(Reconciler.decide(retired, new DesiredState("app", 9, 3, "r-2", Phase.FAILED, V2, Mode.MAINTENANCE, DIGEST,
          "2", true, V1), true)).isInstanceOf(Action.Hold.class);
    }

    @Test
    void aNewInstancePreparesAndSwitchesAsAnyAgentDoes() {
      assertThat(Reconciler.decide(fresh(), desired(Phase.PREPARING, Mode.ONLINE, V1), true)).isInstanceOf(Action.Prepare.class);
      LocalState prepared = fresh().enter("r-2", AgentState.PREPARED).withDigest(DIGEST);
      assertThat(Reconciler.decide(prepared, desired(Phase.SWITCHING, Mode.ONLINE, V1), true))
          .isEqualTo(new Action.Switch(desired(Phase.SWITCHING, Mode.ONLINE, V1), false));
    }
  }
}
