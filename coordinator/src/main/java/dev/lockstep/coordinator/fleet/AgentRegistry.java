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
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.redisson.api.RBatch;
import org.redisson.api.RMap;
import org.redisson.api.RSet;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;

/**
 * The live registry of agents, in Redis so that any coordinator instance can answer for the whole
 * fleet. An agent is identified by (service, id) — two services may each have a server called
 * {@code web-1} — so each service has its own hash, {@code lockstep:agents:<service>}, agent id →
 * its last report and when it arrived; listing one service reads one hash. The set
 * {@code lockstep:agent-services} names every service that ever reported, so the whole fleet can be
 * listed too. Liveness is computed when read: an agent silent for longer than {@code lostAfter} is
 * {@code lost}, and stays listed as such (a lost server may come back on old code) until an
 * operator removes it.
 *
 * <pre>{@code registry.report(report).compose(v -> registry.list("app"))}</pre>
 */
public final class AgentRegistry {
  /** Prefix of the per-service hashes; the service name follows it. */
  public static final String AGENTS_KEY_PREFIX = "lockstep:agents:";
  /** The set of service names that have reported. Not under the prefix, so no service name can collide with it. */
  public static final String SERVICES_KEY = "lockstep:agent-services";

  private final Vertx vertx;
  private final RedissonClient redisson;
  private final RSet<String> services;
  private final Clock clock;
  private final Duration lostAfter;

  public AgentRegistry(Vertx vertx, RedissonClient redisson, Clock clock, Duration lostAfter) {
    this.vertx = vertx;
    this.redisson = redisson;
    this.services = redisson.getSet(SERVICES_KEY, StringCodec.INSTANCE);
    this.clock = clock;
    this.lostAfter = lostAfter;
  }

  public Future<AgentStatus> report(AgentReport report) {
    Objects.requireNonNull(report.service(), "an agent report names its service");
    AgentStatus status = AgentStatus.of(report, clock.instant().toString());
    // One round trip, set first: whoever lists all services never misses a hash that has entries.
    // The set is not pruned when agents are removed; an empty hash costs one read when listing all.
    RBatch batch = redisson.createBatch();
    batch.getSet(SERVICES_KEY, StringCodec.INSTANCE).addAsync(report.service());
    batch.getMap(AGENTS_KEY_PREFIX + report.service(), StringCodec.INSTANCE).fastPutAsync(report.id(), Json.write(status));
    return on(batch.executeAsync()).map(status);
  }

  /** Every agent of {@code service} (all services if null), sorted by service and id, with lost ones marked. */
  public Future<List<AgentStatus>> list(String service) {
    Instant now = clock.instant();
    Future<List<String>> raw = service != null ? on(agents(service).readAllValuesAsync()).map(List::copyOf)
        : on(services.readAllAsync()).compose(names -> Future.all(names.stream()
                .map(name -> on(agents(name).readAllValuesAsync()))
                .toList())
            .map(all -> all.<Collection<String>>list().stream().flatMap(Collection::stream).toList()));
    return raw.map(values -> values.stream()
        .map(json -> withLiveness(Json.read(json, AgentStatus.class), now))
        .sorted(Comparator.comparing(AgentStatus::service).thenComparing(AgentStatus::id))
        .toList());
  }

  public Future<Optional<AgentStatus>> get(String service, String id) {
    Instant now = clock.instant();
    return on(agents(service).getAsync(id)).map(json -> Optional.ofNullable(json)
        .map(j -> withLiveness(Json.read(j, AgentStatus.class), now)));
  }

  /** The agents called {@code id} in any service, sorted by service: how a caller that named no service finds it. */
  public Future<List<AgentStatus>> find(String id) {
    return on(services.readAllAsync()).compose(names -> Future.all(names.stream().map(name -> get(name, id)).toList()))
        .map(all -> all.<Optional<AgentStatus>>list().stream().flatMap(Optional::stream)
            .sorted(Comparator.comparing(AgentStatus::service))
            .toList());
  }

  /** Forgets agent {@code id} of {@code service}; returns false if it was not registered. */
  public Future<Boolean> remove(String service, String id) {
    return on(agents(service).fastRemoveAsync(id)).map(n -> n > 0);
  }

  public Duration lostAfter() {
    return lostAfter;
  }

  private RMap<String, String> agents(String service) {
    return redisson.getMap(AGENTS_KEY_PREFIX + service, StringCodec.INSTANCE);
  }

  private AgentStatus withLiveness(AgentStatus agent, Instant now) {
    Instant seen = Instant.parse(agent.lastSeen());
    return Duration.between(seen, now).compareTo(lostAfter) > 0 ? agent.withState(AgentState.LOST) : agent;
  }

  private <T> Future<T> on(CompletionStage<T> stage) {
    return Future.fromCompletionStage(stage, vertx.getOrCreateContext());
  }
}
