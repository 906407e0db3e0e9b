package dev.lockstep.bench.cost;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ReleaseTimelineTest {
  private static String event(long seq, String at, String phase) {
    return "{\"releaseId\":\"r\",\"seq\":" + seq + ",\"at\":\"" + at + "\",\"phase\":\"" + phase + "\",\"message\":\"m\"}";
  }

  private final ReleaseTimeline timeline = new ReleaseTimeline(List.of(
      event(1, "2026-12-07T05:00:00.000Z", "PLANNED"),
      event(2, "2026-12-07T05:00:00.400Z", "PLANNED"),
      event(3, "2026-12-07T05:00:00.500Z", "PREFLIGHT"),
      event(4, "2026-12-07T05:00:03.500Z", "PREPARING"),
      event(5, "2026-12-07T05:00:04.000Z", "MIGRATING"),
      event(6, "2026-12-07T05:00:06.000Z", "SWITCHING"),
      event(7, "2026-12-07T05:00:06.250Z", "COMPLETED")));

  @Test
  void eachPhaseLastsFromItsFirstEventToTheNextPhasesFirst() {
    assertThat(timeline.phaseMs()).containsExactly(
        java.util.Map.entry("PLANNED", 500L), java.util.Map.entry("PREFLIGHT", 3000L), java.util.Map.entry("PREPARING", 500L),
        java.util.Map.entry("MIGRATING", 2000L), java.util.Map.entry("SWITCHING", 250L));
    assertThat(timeline.endedAt() - timeline.requestedAt()).isEqualTo(6250);
  }

  @Test
  void aMomentFallsInThePhaseOfTheLastEventBeforeIt() {
    long t0 = timeline.requestedAt();
    assertThat(timeline.phaseAt(t0 - 1)).isEqualTo("before");
    assertThat(timeline.phaseAt(t0 + 450)).isEqualTo("PLANNED");
    assertThat(timeline.phaseAt(t0 + 5000)).isEqualTo("MIGRATING");
    assertThat(timeline.phaseAt(t0 + 9000)).isEqualTo("COMPLETED");
  }
}
