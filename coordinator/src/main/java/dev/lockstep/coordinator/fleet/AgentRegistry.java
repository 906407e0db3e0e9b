package dev.lockstep.coordinator.fleet;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import org.redisson.api.RMap;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;

/**
 * The live registry of agents, in Redis so that any coordinator instance can answer for the whole
 * fleet. One hash, agent id → its last report and when it arrived. Liveness is computed when read:
 * an agent silent for longer than {@code lostAfter} is {@code lost}, and stays listed as such
 * (a lost server may come back on old code) until an operator removes it.
 *
 * <pre>{@code registry.report(report).compose(v -> registry.list("app"))}</pre>
 */
public final class AgentRegistry {
  private final Vertx vertx;
  private final RMap<String, String> agents;
  private final Clock clock;
  private final Duration lostAfter;

  public AgentRegistry(Vertx vertx, RedissonClient redisson, Clock clock, Duration lostAfter) {
    this.vertx = vertx;
    this.agents = redisson.getMap("lockstep:agents", StringCodec.INSTANCE);
    this.clock = clock;
    this.lostAfter = lostAfter;
  }

  public Future<AgentStatus> report(AgentReport report) {
    AgentStatus status = AgentStatus.of(report, clock.instant().toString());
    return on(agents.fastPutAsync(report.id(), Json.write(status))).map(status);
  }

  /** Every agent of {@code service} (all services if null), sorted by id, with lost ones marked. */
  public Future<List<AgentStatus>> list(String service) {
    Instant now = clock.instant();
    return on(agents.readAllValuesAsync()).map(values -> values.stream()
        .map(json -> Json.read(json, AgentStatus.class))
        .filter(a -> service == null || service.equals(a.service()))
        .map(a -> withLiveness(a, now))
        .sorted(Comparator.comparing(AgentStatus::id))
        .toList());
  }

  public Future<Optional<AgentStatus>> get(String id) {
    Instant now = clock.instant();
    return on(agents.getAsync(id)).map(json -> Optional.ofNullable(json)
        .map(j -> withLiveness(Json.read(j, AgentStatus.class), now)));
  }

  /** Forgets an agent; returns false if it was not registered. */
  public Future<Boolean> remove(String id) {
    return on(agents.fastRemoveAsync(id)).map(n -> n > 0);
  }

  public Duration lostAfter() {
    return lostAfter;
  }

  private AgentStatus withLiveness(AgentStatus agent, Instant now) {
    Instant seen = Instant.parse(agent.lastSeen());
    return Duration.between(seen, now).compareTo(lostAfter) > 0 ? agent.withState(AgentState.LOST) : agent;
  }

  private <T> Future<T> on(java.util.concurrent.CompletionStage<T> stage) {
    return Future.fromCompletionStage(stage, vertx.getOrCreateContext());
  }
}
