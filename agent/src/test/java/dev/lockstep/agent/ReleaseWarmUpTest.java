package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.AgentState;
import org.junit.jupiter.api.Test;

/** The warm-up walks the whole release path (prepare, switch, serve), in either mode. */
class ReleaseWarmUpTest {
  @Test
  void walksAReleaseToServingTheNewRevision() {
    LocalState end = ReleaseWarmUp.walk("shop", false);
    assertThat(end.state()).isEqualTo(AgentState.SERVING);
    assertThat(end.revision()).isEqualTo("warm-up-new");
    assertThat(end.releaseId()).isEqualTo("r-warm-up");
  }

  @Test
  void walksItInReadinessModeToo() {
    LocalState end = ReleaseWarmUp.walk("shop", true);
    assertThat(end.state()).isEqualTo(AgentState.SERVING);
    assertThat(end.revision()).isEqualTo("warm-up-new");
  }
}
