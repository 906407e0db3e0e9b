package dev.lockstep.coordinator.release;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The events of a fleet wait: named while few, counted once a round brings thousands. */
class FleetWaitSummaryTest {

  @Test
  void aFewAgentsAreEachNamed() {
    assertThat(FleetWait.summary(List.of("a-1 prepared (digest 1a2b)", "a-2 prepared (digest 1a2b)"), 2, 3))
        .isEqualTo("a-1 prepared (digest 1a2b), a-2 prepared (digest 1a2b) (2/3)");
  }

  @Test
  void thousandsAreCountedWithTheFirstFewNamedSoTheEventStaysALine() {
    List<String> news = IntStream.rangeClosed(1, 4998).mapToObj(i -> "a-" + i + " prepared (digest 1a2b)").toList();

    String summary = FleetWait.summary(news, 4998, 5000);

    assertThat(summary).isEqualTo("4,998 of 5,000 through, 4,998 more since the last event (a-1 prepared (digest 1a2b),"
        + " a-2 prepared (digest 1a2b), a-3 prepared (digest 1a2b), and 4,995 more; the release document lists every agent)");
    assertThat(summary.length()).isLessThan(250);
  }

  @Test
  void theBoundaryIsEightNamedNineCounted() {
    List<String> nine = IntStream.rangeClosed(1, 9).mapToObj(i -> "a-" + i + " switched").toList();
    assertThat(FleetWait.summary(nine.subList(0, 8), 8, 9)).endsWith("a-8 switched (8/9)");
    assertThat(FleetWait.summary(nine, 9, 9)).startsWith("9 of 9 through, 9 more since the last event (a-1 switched,");
  }
}
