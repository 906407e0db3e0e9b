package dev.lockstep.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The one duration rule of the coordinator and the agent (the cases of both jars' former {@code Durations},
 * {@code DurationsTest} and {@code DurationsAgeTest}).
 */
class DurationsTest {

  @Test
  void readsTheFormsPeopleType() {
    assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Durations.parse("30")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse(" 1h ")).isEqualTo(Duration.ofHours(1));
    assertThat(Durations.parse("007s")).isEqualTo(Duration.ofSeconds(7));
    assertThat(Durations.parse("168h")).isEqualTo(Durations.MAX);
  }

  @Test
  void theUnitMayBeWrittenInCapitals() {
    assertThat(Durations.parse("30S")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Durations.parse("500MS")).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void zeroIsADurationUnlessTheCallerAsksForAPositiveOne() {
    assertThat(Durations.parse("0s")).isZero();
    assertThat(Durations.parse("0")).isZero();
    assertThatThrownBy(() -> Durations.positive("0s")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("'0s' is zero; give a positive duration such as 30s");
    assertThatThrownBy(() -> Durations.positive("0ms")).hasMessageContaining("positive");
    assertThat(Durations.positive("1ms")).isEqualTo(Duration.ofMillis(1));
    assertThatThrownBy(() -> Durations.positive("soon")).hasMessageContaining("write it like 500ms, 30s or 2m");
  }

  @ParameterizedTest
  @ValueSource(strings = {"9999999999999999h", "99999999999999999999s", "9223372036854775807ms", "169h", "604800001ms"})
  void tooLongIsRefusedByNameNotByOverflow(String text) {
    assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(text).hasMessageContaining("longer than");
  }

  @ParameterizedTest
  @ValueSource(strings = {"-5s", "", "forever", "1.5s", "5 d", "\u0000", "30x", "soon"})
  void whatIsNotADurationIsRefusedSayingWhatWorks(String text) {
    assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot read duration").hasMessageContaining("500ms")
        .hasMessageContaining("write it like 500ms, 30s or 2m");
  }

  @Test
  void nothingIsNotADuration() {
    assertThatThrownBy(() -> Durations.parse(null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot read duration nothing");
  }

  @Test
  void controlCharactersAreShownEscaped() {
    assertThatThrownBy(() -> Durations.parse("5\u0007s")).hasMessageContaining("'5\\u0007s'");
  }

  @Test
  void agesReadDaysAndEveryShorterUnit() {
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

  @Test
  void exactFormsAreTheShortestThatParseReadsBack() {
    assertThat(Durations.exact(Duration.ofSeconds(60))).isEqualTo("60s");
    assertThat(Durations.exact(Duration.ofMillis(500))).isEqualTo("500ms");
    assertThat(Durations.exact(Duration.ofSeconds(30))).isEqualTo("30s");
    assertThat(Durations.exact(Duration.ofMillis(1500))).isEqualTo("1500ms");
    for (Duration d : new Duration[] {Duration.ofMillis(1), Duration.ofMillis(1500), Duration.ofMinutes(2), Durations.MAX}) {
      assertThat(Durations.parse(Durations.exact(d))).isEqualTo(d);
    }
  }

  @Test
  void formatsCompactlyForPeople() {
    assertThat(Durations.format(Duration.ofMillis(850))).isEqualTo("850ms");
    assertThat(Durations.format(Duration.ofMillis(12_340))).isEqualTo("12.3s");
    assertThat(Durations.format(Duration.ofSeconds(245))).isEqualTo("4m05s");
    assertThat(Durations.format(Duration.ofMinutes(120))).isEqualTo("2h00m");
  }
}
