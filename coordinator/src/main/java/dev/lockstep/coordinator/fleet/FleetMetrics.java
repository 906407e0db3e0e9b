package dev.lockstep.coordinator.fleet;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.vertx.core.Vertx;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * {@code lockstep_agents{service, state}}: how many agents of the coordinator's service are in each
 * state, refreshed from the registry every few seconds so that an alert can fire on {@code lost}.
 */
public final class FleetMetrics {
  private static final long REFRESH_MS = 5000;

  private final Vertx vertx;
  private final AgentRegistry registry;
  private final String service;
  private final MultiGauge gauge;
  private long timer = -1;

  public FleetMetrics(Vertx vertx, AgentRegistry registry, MeterRegistry meters, String service) {
    this.vertx = vertx;
    this.registry = registry;
    this.service = service;
    this.gauge = MultiGauge.builder("lockstep.agents").description("agents of the service by state").register(meters);
  }

  public void start() {
    refresh();
    timer = vertx.setPeriodic(REFRESH_MS, id -> refresh());
  }

  public void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }

  private void refresh() {
    registry.list(service).onSuccess(agents -> {
      Map<AgentState, Integer> counts = new EnumMap<>(AgentState.class);
      for (AgentState state : AgentState.values()) {
        counts.put(state, 0);
      }
      for (AgentStatus a : agents) {
        counts.merge(a.state(), 1, Integer::sum);
      }
      List<MultiGauge.Row<?>> rows = counts.entrySet().stream()
          .<MultiGauge.Row<?>>map(e -> MultiGauge.Row.of(Tags.of("service", service, "state", e.getKey().wireName()), e.getValue()))
          .toList();
      gauge.register(rows, true);
    });
  }
}
