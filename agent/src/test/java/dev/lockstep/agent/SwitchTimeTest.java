package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class SwitchTimeTest {
  private static final Instant NOW = Instant.parse("2030-01-01T12:00:00Z");
  private static final Duration LONGEST = Duration.ofSeconds(5);

  @Test
  void waitsUntilTheSwitchTimeRoundedUpSoTheTimerNeverFiresEarly() {
    assertThat(SwitchTime.waitMs("2030-01-01T12:00:00.150Z", NOW, LONGEST)).isEqualTo(150);
    assertThat(SwitchTime.waitMs("2030-01-01T12:00:00.000400Z", NOW, LONGEST)).isEqualTo(1);
    assertThat(SwitchTime.waitMs("2030-01-01T12:00:05Z", NOW, LONGEST)).isEqualTo(5000);
  }

  @Test
  void switchesAtOnceWithoutATimeOrWhenItIsPastOrUnreadable() {
    assertThat(SwitchTime.waitMs(null, NOW, LONGEST)).isZero();
    assertThat(SwitchTime.waitMs("2030-01-01T12:00:00Z", NOW, LONGEST)).isZero();
    assertThat(SwitchTime.waitMs("2030-01-01T11:59:59.900Z", NOW, LONGEST)).as("learned late").isZero();
    assertThat(SwitchTime.waitMs("soon", NOW, LONGEST)).isZero();
  }

  @Test
  void aTimeFurtherAheadThanTheLongestWaitMeansTheClocksDisagree() {
    assertThat(SwitchTime.waitMs("2030-01-01T12:00:05.001Z", NOW, LONGEST)).isEqualTo(SwitchTime.CLOCKS_DISAGREE);
    assertThat(SwitchTime.waitMs("2030-01-01T13:00:00Z", NOW, LONGEST)).isEqualTo(SwitchTime.CLOCKS_DISAGREE);
  }
}
