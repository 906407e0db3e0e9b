package dev.lockstep.bench.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lockstep.protocol.Phase;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * When a release entered each phase, read from its event log (the first event of each phase) and its document
 * ({@code createdAt}): request → COMPLETED and the time spent in each phase, as the coordinator itself recorded them.
 */
public final class ReleaseTimeline {
  private final Instant created;
  private final Map<Phase, Instant> entered = new EnumMap<>(Phase.class);

  public ReleaseTimeline(Instant created, List<JsonNode> events) {
    this.created = created;
    entered.put(Phase.PLANNED, created);
    for (JsonNode event : events) {
      if (!event.has("seq") || !event.has("phase")) {
        continue;
      }
      Phase phase = Phase.valueOf(event.get("phase").asText());
      entered.putIfAbsent(phase, Instant.parse(event.get("at").asText()));
    }
  }

  /** When the first event of {@code phase} was written; null if the release never entered it. */
  public Instant entered(Phase phase) {
    return entered.get(phase);
  }

  /** Milliseconds from the request to the first event of {@code phase}; NaN if never reached. */
  public double sinceRequestMs(Phase phase) {
    Instant at = entered.get(phase);
    return at == null ? Double.NaN : millis(created, at);
  }

  /** Time in each phase it went through, in order: until the next phase it entered. */
  public Map<Phase, Double> phaseMs() {
    Map<Phase, Double> spent = new EnumMap<>(Phase.class);
    Phase previous = null;
    for (Phase phase : Phase.values()) {
      if (!entered.containsKey(phase)) {
        continue;
      }
      if (previous != null) {
        spent.put(previous, millis(entered.get(previous), entered.get(phase)));
      }
      previous = phase;
    }
    return spent;
  }

  static double millis(Instant from, Instant to) {
    return (to.getEpochSecond() - from.getEpochSecond()) * 1000.0 + (to.getNano() - from.getNano()) / 1e6;
  }
}
