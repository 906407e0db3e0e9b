package dev.lockstep.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

  @Test
  void readsTheFormsPeopleType() {
    assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("30")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse("007s")).isEqualTo(Duration.ofSeconds(7));
    assertThat(Durations.parse("168h")).isEqualTo(Durations.MAX);
  }

  @ParameterizedTest
  @ValueSource(strings = {"9999999999999999h", "99999999999999999999s", "9223372036854775807ms", "169h", "604800001ms"})
  void tooLongIsRefusedByNameNotByOverflow(String text) {
    assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(text).hasMessageContaining("longer than");
  }

  @ParameterizedTest
  @ValueSource(strings = {"-5s", "", "forever", "1.5s", "5 d", "\u0000"})
  void whatIsNotADurationIsRefusedSayingWhatWorks(String text) {
    assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot read duration").hasMessageContaining("500ms");
  }
}
