package dev.lockstep.coordinator.release;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.protocol.ContractState;
import dev.lockstep.protocol.ContractStatus;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a release ends is decided from what PostgreSQL holds: the phase stored and where the schema is now. */
class EndingTest {
  private static final LockstepException MIGRATION = new LockstepException(LockstepException.Code.MIGRATION_FAILED,
      "V4__broken.sql failed");

  @Test
  void beforeMigratingEveryStopIsAnAbortThatTellsAgentsToAbort() {
    for (Phase phase : new Phase[] {Phase.PLANNED, Phase.PREFLIGHT, Phase.PREPARING}) {
      Ending.End end = Ending.decide(at(phase, Mode.MAINTENANCE), LockstepException.aborted("aborted by the operator"), "1");
      assertThat(end.phase()).isEqualTo(Phase.ABORTED);
      assertThat(end.instruction()).isEqualTo(FleetInstruction.ABORT);
    }
  }

  @Test
  void aFailureWithTheSchemaWhereItWasRollsBackWhole() {
    Ending.End end = Ending.decide(at(Phase.MIGRATING, Mode.MAINTENANCE), MIGRATION, "1");
    assertThat(end.phase()).isEqualTo(Phase.FAILED);
    assertThat(end.instruction()).isEqualTo(FleetInstruction.ABORT);
    assertThat(end.reason()).contains("rolled back whole, the schema is still at 1");
  }

  @Test
  void aBlockAtMigratingWithTheSchemaUnmovedIsAnAbort() {
    Ending.End end = Ending.decide(at(Phase.MIGRATING, Mode.ONLINE), LockstepException.aborted("pre-flight blocked at MIGRATING"), "1");
    assertThat(end.phase()).isEqualTo(Phase.ABORTED);
  }

  @Test
  void aMovedSchemaIsNeverAnAbortAndMaintenanceAgentsHold() {
    // The hazard: an earlier run committed V2 and V3, this run failed at V4. The schema is at 3, not 1.
    Ending.End maintenance = Ending.decide(at(Phase.MIGRATING, Mode.MAINTENANCE), MIGRATION, "3");
    assertThat(maintenance.phase()).isEqualTo(Phase.FAILED);
    assertThat(maintenance.instruction()).isEqualTo(FleetInstruction.HOLD);
    assertThat(maintenance.reason()).contains("database is now at version 3, not 1");

    Ending.End blocked = Ending.decide(at(Phase.MIGRATING, Mode.MAINTENANCE), LockstepException.aborted("blocked"), "3");
    assertThat(blocked.phase()).as("ABORTED means no schema change committed").isEqualTo(Phase.FAILED);
    assertThat(blocked.instruction()).isEqualTo(FleetInstruction.HOLD);

    Ending.End online = Ending.decide(at(Phase.MIGRATING, Mode.ONLINE), MIGRATION, "3");
    assertThat(online.instruction()).as("an online release only adds: old code still reads it").isEqualTo(FleetInstruction.ABORT);
  }

  @Test
  void aFailureWhileSwitchingTellsTheFleetNothingNew() {
    Ending.End end = Ending.decide(at(Phase.SWITCHING, Mode.ONLINE), LockstepException.failed("agent h-2 failed to switch", null), "4");
    assertThat(end.phase()).isEqualTo(Phase.FAILED);
    assertThat(end.instruction()).isEqualTo(FleetInstruction.NONE);
  }

  @Test
  void aFailureInContractingCompletesTheReleaseWithItsContractFailed() {
    ReleaseDocument stored = at(Phase.CONTRACTING, Mode.ONLINE).toBuilder()
        .contract(ContractStatus.waiting(List.of("V5 (drop email)"))).build();
    Ending.End end = Ending.decide(stored, new IllegalStateException("connection reset"), "4");
    assertThat(end.phase()).as("every server switched: the release itself is done").isEqualTo(Phase.COMPLETED);
    assertThat(end.instruction()).isEqualTo(FleetInstruction.NONE);
    ReleaseDocument ended = Ending.ended(stored, end);
    assertThat(ended.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(ended.reason()).isNull();
    assertThat(ended.contract().state()).isEqualTo(ContractState.FAILED);
    assertThat(ended.contract().reason()).contains("connection reset").contains("lockstep contract --service app");
  }

  @Test
  void aReleaseThatEndsBeforeContractingNeverRunsItsContract() {
    ReleaseDocument stored = at(Phase.MIGRATING, Mode.ONLINE).toBuilder()
        .contract(ContractStatus.waiting(List.of("V5 (drop email)"))).build();
    ReleaseDocument ended = Ending.ended(stored, Ending.decide(stored, MIGRATION, "1"));
    assertThat(ended.phase()).isEqualTo(Phase.FAILED);
    assertThat(ended.contract().state()).as("not waiting, not pending: it will never run").isEqualTo(ContractState.NONE);
    assertThat(ended.contract().migrations()).containsExactly("V5 (drop email)");
    assertThat(ended.contract().reason()).isEqualTo("the release ended FAILED before its contract");
  }

  private static ReleaseDocument at(Phase phase, Mode mode) {
    return new ReleaseDocument.Builder().id("r-1").service("app").revision("v2").schema("4").fromSchema("1").mode(mode)
        .phase(phase).build();
  }
}
