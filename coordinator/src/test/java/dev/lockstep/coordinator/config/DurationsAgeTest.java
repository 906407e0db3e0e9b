package dev.lockstep.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link Durations#parseAge}: the ages {@code prune --older-than} takes, in days too. */
class DurationsAgeTest {

  @Test
  void readsDaysAndEveryShorterUnit() {
    assertThat(Durations.parseAge("30d")).isEqualTo(Duration.ofDays(30));
    assertThat(Durations.parseAge("12h")).isEqualTo(Duration.ofHours(12));
    assertThat(Durations.parseAge("90")).isEqualTo(Duration.ofSeconds(90));
    assertThat(Durations.parseAge("3650d")).isEqualTo(Durations.MAX_AGE);
  }

  @Test
  void aTimeoutStillTakesNoDays() {
    assertThatThrownBy(() -> Durations.parse("1d")).hasMessageContaining("cannot read duration '1d'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"3651d", "99999999999999999999d", "87601h"})
  void tooOldIsRefusedByName(String text) {
    assertThatThrownBy(() -> Durations.parseAge(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(text).hasMessageContaining("longer than the most accepted, 3650d");
  }

  @ParameterizedTest
  @ValueSource(strings = {"-1d", "", "a month", "1.5d", "2w"})
  void whatIsNotAnAgeIsRefusedSayingWhatWorks(String text) {
    assertThatThrownBy(() -> Durations.parseAge(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot read duration").hasMessageContaining("30d");
  }
}
