package dev.lockstep.coordinator.fleet;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registry's stored reports, each parsed once per text. A fleet wait reads the whole fleet every round, and
 * between two rounds a few dozen of thousands of agents reported: the others are the same text as last round, so their
 * parse is reused instead of repeated. One entry per agent of each service read (an agent gone from the registry is
 * dropped at the next read of its service).
 *
 * <p>Thread-safety: concurrent maps, and a read replaces whole entries; any loop may read.
 */
final class ParsedReports {
  private record Parsed(String json, AgentStatus status) {}

  private final Map<String, Map<String, Parsed>> byService = new ConcurrentHashMap<>();

  /** {@code stored}: agent id → its stored report's text, as one read of the service's hash returned it. */
  List<AgentStatus> read(String service, Map<String, String> stored) {
    Map<String, Parsed> known = byService.computeIfAbsent(service, s -> new ConcurrentHashMap<>());
    List<AgentStatus> out = new ArrayList<>(stored.size());
    stored.forEach((id, json) -> {
      Parsed was = known.get(id);
      if (was == null || !was.json().equals(json)) {
        was = new Parsed(json, Json.read(json, AgentStatus.class));
        known.put(id, was);
      }
      out.add(was.status());
    });
    known.keySet().retainAll(stored.keySet());
    return out;
  }
}
