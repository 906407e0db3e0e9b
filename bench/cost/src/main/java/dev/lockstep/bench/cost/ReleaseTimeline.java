package dev.lockstep.bench.cost;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lockstep.protocol.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the time of one {@code lockstep release} went, from the outside (CLI spawn and exit) and from the release's
 * own event log (each event's {@code at} and {@code phase}): the CLI until the request is recorded, then each phase
 * from its first event to the next phase's first event, then the end until the CLI has exited. Alembic runs (from the
 * wrapper's log) and hook runs are counted per phase by when they started.
 */
final class ReleaseTimeline {
  static final List<String> PHASES = List.of("PLANNED", "PREFLIGHT", "PREPARING", "MIGRATING", "SWITCHING", "CONTRACTING",
      "COMPLETED");

  record Event(long at, String phase, String message) {}

  final List<Event> events = new ArrayList<>();
  /** Phase → first event's moment. */
  final Map<String, Long> starts = new LinkedHashMap<>();

  ReleaseTimeline(List<String> eventData) {
    try {
      for (String data : eventData) {
        JsonNode e = Json.mapper().readTree(data);
        events.add(new Event(Instant.parse(e.path("at").asText()).toEpochMilli(), e.path("phase").asText(),
            e.path("message").asText()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (Event e : events) {
      starts.putIfAbsent(e.phase(), e.at());
    }
  }

  long requestedAt() {
    return events.get(0).at();
  }

  long endedAt() {
    return events.get(events.size() - 1).at();
  }

  /** Phase → milliseconds from its first event to the first event of the phase after it (the terminal phase: 0). */
  Map<String, Long> phaseMs() {
    Map<String, Long> out = new LinkedHashMap<>();
    List<String> seen = PHASES.stream().filter(starts::containsKey).toList();
    for (int i = 0; i + 1 < seen.size(); i++) {
      out.put(seen.get(i), starts.get(seen.get(i + 1)) - starts.get(seen.get(i)));
    }
    return out;
  }

  /** The phase the release was in at {@code millis}. */
  String phaseAt(long millis) {
    String phase = "before";
    for (Event e : events) {
      if (e.at() > millis) {
        break;
      }
      phase = e.phase();
    }
    return phase;
  }

  /** Events as {@code +ms PHASE message} lines relative to the request, for the report. */
  List<String> lines() {
    long t0 = requestedAt();
    List<String> out = new ArrayList<>();
    for (Event e : events) {
      String m = e.message().length() > 160 ? e.message().substring(0, 157) + "..." : e.message();
      out.add(String.format("+%6d ms  %-11s %s", e.at() - t0, e.phase(), m));
    }
    return out;
  }
}
