package dev.lockstep.coordinator.release;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The transition table: forward only, one step at a time (CONTRACTING may be skipped), nothing out of a terminal phase. */
class ReleaseMachineTest {
  private static final ReleaseMachine MACHINE = new ReleaseMachine(null, null, null, null, null, null);

  @Test
  void eachNonTerminalPhaseMovesOnlyToTheNextAndSaysWhatResumingThereMeans() {
    assertThat(MACHINE.at(Phase.PLANNED).next()).isEqualTo(Set.of(Phase.PREFLIGHT));
    assertThat(MACHINE.at(Phase.PREFLIGHT).next()).isEqualTo(Set.of(Phase.PREPARING));
    assertThat(MACHINE.at(Phase.PREPARING).next()).isEqualTo(Set.of(Phase.MIGRATING));
    assertThat(MACHINE.at(Phase.MIGRATING).next()).isEqualTo(Set.of(Phase.SWITCHING));
    // A release with contract migrations goes through CONTRACTING; one without goes straight to COMPLETED.
    assertThat(MACHINE.at(Phase.SWITCHING).next()).isEqualTo(Set.of(Phase.CONTRACTING, Phase.COMPLETED));
    assertThat(MACHINE.at(Phase.CONTRACTING).next()).isEqualTo(Set.of(Phase.COMPLETED));
    for (Phase phase : Phase.values()) {
      if (!phase.isTerminal()) {
        assertThat(MACHINE.at(phase).resume()).as(phase.name()).isNotBlank();
      }
    }
  }

  @Test
  void aTerminalPhaseHasNoStep() {
    for (Phase phase : new Phase[] {Phase.COMPLETED, Phase.ABORTED, Phase.FAILED}) {
      assertThat(MACHINE.at(phase)).isNull();
      Future<ReleaseDocument> ran = MACHINE.step(new ReleaseDocument.Builder().id("r-1").phase(phase).build(), null);
      assertThat(ran.failed()).isTrue();
      assertThat(ran.cause()).hasMessageContaining("terminal phase");
    }
  }
}
