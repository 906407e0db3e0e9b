package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class AgentConfigTest {
  @Test
  void backoffDoublesUpToItsMaximum() {
    AgentConfig.Retry retry = AgentConfig.Retry.DEFAULT;

    assertThat(retry.after(1)).isEqualTo(Duration.ofSeconds(1));
    assertThat(retry.after(2)).isEqualTo(Duration.ofSeconds(2));
    assertThat(retry.after(3)).isEqualTo(Duration.ofSeconds(4));
    assertThat(retry.after(4)).isEqualTo(Duration.ofSeconds(5));
    assertThat(retry.after(1000)).isEqualTo(Duration.ofSeconds(5));
  }
}
