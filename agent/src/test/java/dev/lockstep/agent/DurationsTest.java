package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
  @Test
  void parsesMillisecondsSecondsMinutesAndHours() {
    assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(Durations.parse(" 1h ")).isEqualTo(Duration.ofHours(1));
  }

  @Test
  void refusesWhatIsNotADurationAndSaysHowToWriteOne() {
    assertThatThrownBy(() -> Durations.parse("30")).hasMessageContaining("write it like 500ms, 30s or 2m");
    assertThatThrownBy(() -> Durations.parse("-5s")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Durations.parse("0s")).hasMessageContaining("positive");
    assertThatThrownBy(() -> Durations.parse(null)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void formatsTheWayItParses() {
    assertThat(Durations.format(Duration.ofSeconds(60))).isEqualTo("60s");
    assertThat(Durations.format(Duration.ofMillis(500))).isEqualTo("500ms");
    assertThat(Durations.format(Duration.ofSeconds(30))).isEqualTo("30s");
  }

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
