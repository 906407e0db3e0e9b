package dev.lockstep.coordinator.fleet;

import dev.lockstep.coordinator.store.AgentDepartures;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import org.redisson.api.RBatch;
import org.redisson.api.RMap;
import org.redisson.api.RSet;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live registry of agents, in Redis so that any coordinator instance can answer for the whole
 * fleet. An agent is identified by (service, id) — two services may each have a server called
 * {@code web-1} — so each service has its own hash, {@code lockstep:agents:<service>}, agent id →
 * its last report and when it arrived; listing one service reads one hash. The set
 * {@code lockstep:agent-services} names every service with agents, so the whole fleet can be
 * listed too (a listing of every service strikes from it those it found empty). Liveness is computed when
 * read: an agent silent for longer than {@code lostAfter} is {@code lost}, and stays listed as such (a lost
 * server may come back on old code) until an operator removes it. An ephemeral agent (a pod, which never comes back under its id) is different: it leaves
 * when it stops, and one silent for {@code lostAfter} plus one report interval is forgotten. Both are recorded in
 * {@code lockstep:departed:<service>} (id → how and when, kept an hour), so a release waiting for it knows it went
 * rather than fell silent, and audited durably in {@link AgentDepartures}.
 *
 * <pre>{@code registry.report(report).compose(v -> registry.list("app"))}</pre>
 */
public final class AgentRegistry {
  /** Prefix of the per-service hashes; the service name follows it. */
  public static final String AGENTS_KEY_PREFIX = "lockstep:agents:";
  /** The set of service names that have reported. Not under the prefix, so no service name can collide with it. */
  public static final String SERVICES_KEY = "lockstep:agent-services";
  /** Prefix of the per-service hashes of agents that left or were forgotten. */
  public static final String DEPARTED_KEY_PREFIX = "lockstep:departed:";
  private static final Duration DEPARTURES_KEPT = Duration.ofHours(1);
  /** The report interval of agents that do not say theirs: the agent's default. */
  private static final Duration DEFAULT_REPORT_INTERVAL = Duration.ofSeconds(2);
  private static final Logger log = LoggerFactory.getLogger(AgentRegistry.class);

  /** How and when an ephemeral agent went: {@code left} or {@code forgotten}, at an ISO-8601 instant. */
  public record Departure(String how, String at) {}

  private final Vertx vertx;
  private final RedissonClient redisson;
  private final ParsedReports parsed = new ParsedReports();
  private final RSet<String> services;
  private final Clock clock;
  private final Duration lostAfter;
  private final AgentDepartures audit;
  /**
   * The last time this instance could not write or read the registry, or did so only late (Redis down, failing over).
   * Agents' reports fail or wait then too, so their silence counts only from whichever is later, their last report or
   * this: an outage of Redis does not make the fleet lost the moment it ends (a lost agent blocks every release), and an agent that really died in it
   * is lost {@code lostAfter} after Redis answers again.
   */
  private final AtomicReference<Instant> troubled = new AtomicReference<>(Instant.EPOCH);

  /** Without a durable audit of departures (tests of the registry alone). */
  public AgentRegistry(Vertx vertx, RedissonClient redisson, Clock clock, Duration lostAfter) {
    this(vertx, redisson, clock, lostAfter, null);
  }

  public AgentRegistry(Vertx vertx, RedissonClient redisson, Clock clock, Duration lostAfter, AgentDepartures audit) {
    this.vertx = vertx;
    this.redisson = redisson;
    this.services = redisson.getSet(SERVICES_KEY, StringCodec.INSTANCE);
    this.clock = clock;
    this.lostAfter = lostAfter;
    this.audit = audit;
  }

  public Future<AgentStatus> report(AgentReport report) {
    Objects.requireNonNull(report.service(), "an agent report names its service");
    AgentStatus status = AgentStatus.of(report, clock.instant().toString());
    // One round trip, set first: whoever lists all services never misses a hash that has entries. (In a Redis Cluster the
    // two keys may live on two nodes and the batch goes to both at once: a listing of every service may miss a service's
    // very first report, never a later one. Listing one service reads one key either way.)
    // The set is pruned by listings of every service, of services whose hash they found empty (readListed).
    RBatch batch = redisson.createBatch();
    batch.getSet(SERVICES_KEY, StringCodec.INSTANCE).addAsync(report.service());
    batch.getMap(AGENTS_KEY_PREFIX + report.service(), StringCodec.INSTANCE).fastPutAsync(report.id(), Json.write(status));
    return on(batch.executeAsync()).map(status);
  }

  /** Notes that the registry did not answer until now (see {@link #troubled}). */
  private void troubled() {
    Instant now = clock.instant();
    troubled.accumulateAndGet(now, (a, b) -> a.isAfter(b) ? a : b);
  }

  /** When this instance last failed to reach the registry; {@link Instant#EPOCH} if never. */
  public Instant troubledAt() {
    return troubled.get();
  }

  /** Every agent of {@code service} (all services if null), sorted by service and id, with lost ones marked. */
  public Future<List<AgentStatus>> list(String service) {
    Instant now = clock.instant();
    Future<List<AgentStatus>> read = service != null ? readService(service)
        : on(services.readAllAsync()).compose(names -> Future.all(names.stream().map(this::readListed).toList())
            .map(all -> all.<List<AgentStatus>>list().stream().flatMap(Collection::stream).toList()));
    return read.map(values -> values.stream()
        .filter(agent -> !forgotten(agent, now))
        .map(agent -> withLiveness(agent, now))
        .sorted(Comparator.comparing(AgentStatus::service).thenComparing(AgentStatus::id))
        .toList());
  }

  /**
   * A service named in {@link #SERVICES_KEY}, read for a listing of every service. One whose hash is empty (its last
   * agent removed, left or forgotten) is struck from the set, so that services which came and went (a test run's, a
   * renamed one's) cost nothing for ever; its next report adds it again. Two commands on two keys, not a script, so that
   * it works in a Cluster: a report landing between the read and the removal leaves the service out of listings of
   * every service until its agent's next report (one report interval), as a service's very first report may be.
   */
  private Future<List<AgentStatus>> readListed(String service) {
    return readService(service).andThen(read -> {
      if (read.succeeded() && read.result().isEmpty()) {
        services.removeAsync(service).exceptionally(e -> {
          log.debug("could not strike emptied service {} from {}: {}", service, SERVICES_KEY, e.getMessage());
          return false;
        });
      }
    });
  }

  /** Every stored report of {@code service}, each parsed only if its text changed since the last read. */
  private Future<List<AgentStatus>> readService(String service) {
    return on(agents(service).readAllMapAsync()).map(all -> parsed.read(service, all));
  }

  /**
   * An ephemeral agent silent past {@code lostAfter} plus its report interval: its pod is gone and will not come back
   * under this id, so it is forgotten (here, for whoever reads next) instead of blocking releases as lost.
   */
  private boolean forgotten(AgentStatus agent, Instant now) {
    if (!agent.ephemeral()) {
      return false;
    }
    Duration interval = agent.reportIntervalMs() > 0 ? Duration.ofMillis(agent.reportIntervalMs()) : DEFAULT_REPORT_INTERVAL;
    Duration silent = Duration.between(silentSince(agent), now);
    if (silent.compareTo(lostAfter.plus(interval)) <= 0) {
      return false;
    }
    on(agents(agent.service()).fastRemoveAsync(agent.id())).onSuccess(n -> {
      if (n > 0) {
        log.info("forgot ephemeral agent {} of service {}: silent since {} (longer than --lost-after {} plus its report"
            + " interval)", agent.id(), agent.service(), agent.lastSeen(), lostAfter, interval);
        departed(agent.service(), agent.id(), AgentDepartures.How.FORGOTTEN, now);
        if (audit != null) {
          audit.record(agent.service(), agent.id(), AgentDepartures.How.FORGOTTEN, agent.revision(), null, null)
              .onFailure(e -> log.warn("could not audit that agent {} of service {} was forgotten: {}", agent.id(),
                  agent.service(), e.getMessage()));
        }
      }
    });
    return true;
  }

  /**
   * An ephemeral agent leaving for good (its pod stops): gone from the registry at once, recorded as left. Returns false
   * if it was not registered.
   */
  public Future<Boolean> leave(String service, String id) {
    return on(agents(service).fastRemoveAsync(id)).map(n -> {
      departed(service, id, AgentDepartures.How.LEFT, clock.instant());
      return n > 0;
    });
  }

  /** The ephemeral agents of {@code service} that left or were forgotten within the last hour, by id. */
  public Future<Map<String, Departure>> departures(String service) {
    return on(departed(service).readAllMapAsync()).map(all -> {
      Map<String, Departure> out = new HashMap<>();
      all.forEach((id, json) -> out.put(id, Json.read(json, Departure.class)));
      return out;
    });
  }

  private void departed(String service, String id, AgentDepartures.How how, Instant at) {
    RBatch batch = redisson.createBatch();
    batch.getMap(DEPARTED_KEY_PREFIX + service, StringCodec.INSTANCE)
        .fastPutAsync(id, Json.write(new Departure(how.wireName(), at.toString())));
    batch.getMap(DEPARTED_KEY_PREFIX + service, StringCodec.INSTANCE).expireAsync(DEPARTURES_KEPT);
    batch.executeAsync().exceptionally(e -> {
      log.warn("could not record that agent {} of service {} {}: {}", id, service, how.wireName(), e.getMessage());
      return null;
    });
  }

  private RMap<String, String> departed(String service) {
    return redisson.getMap(DEPARTED_KEY_PREFIX + service, StringCodec.INSTANCE);
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
    return Duration.between(silentSince(agent), now).compareTo(lostAfter) > 0 ? agent.withState(AgentState.LOST) : agent;
  }

  /** Its last report, or the registry's last trouble if that came later: since when its silence is its own. */
  private Instant silentSince(AgentStatus agent) {
    Instant seen = Instant.parse(agent.lastSeen());
    Instant trouble = troubled.get();
    return trouble.isAfter(seen) ? trouble : seen;
  }

  /**
   * {@code stage} on the caller's context. One that failed, or took longer than {@link #SLOW}, is registry trouble: in a
   * failover Redisson mostly retries until the new primary answers, so a command is late rather than failed, and the
   * reports waiting behind it arrive late too.
   */
  private <T> Future<T> on(CompletionStage<T> stage) {
    long started = System.nanoTime();
    return Future.fromCompletionStage(stage, vertx.getOrCreateContext()).andThen(done -> {
      if (done.failed() || System.nanoTime() - started > SLOW.toNanos()) {
        troubled();
      }
    });
  }

  /** A registry command this slow means Redis was not answering (they take milliseconds). */
  static final Duration SLOW = Duration.ofSeconds(1);
}
