package dev.lockstep.bench.cost;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StatsTest {
  @Test
  void medianOfAnOddAndAnEvenNumberOfRuns() {
    assertThat(Stats.of(List.of(30L, 10L, 20L))).isEqualTo(new Stats(20, 10, 30, 3));
    assertThat(Stats.of(List.of(40L, 10L, 20L, 30L))).isEqualTo(new Stats(25, 10, 40, 4));
  }

  @Test
  void aKeyMissingInSomeRunsCountsOnlyWhereItIs() {
    Map<String, Stats> all = Stats.all(List.of(Map.of("a", 1L), Map.of("a", 3L, "b", 7L)));
    assertThat(all.get("a")).isEqualTo(new Stats(2, 1, 3, 2));
    assertThat(all.get("b")).isEqualTo(new Stats(7, 7, 7, 1));
  }

  @Test
  void printsSecondsWithTheSpread() {
    assertThat(Stats.of(List.of(1000L, 1500L, 1250L)).seconds()).isEqualTo("1.25 s (1.00–1.50)");
    assertThat(Stats.of(List.of()).seconds()).isEqualTo("-");
  }
}
