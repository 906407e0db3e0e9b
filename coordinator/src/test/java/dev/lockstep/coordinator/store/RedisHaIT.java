package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.config.RedisUrl;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.lock.ServiceLock;
import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.testkit.Resp;
import dev.lockstep.testkit.TestRedisCluster;
import dev.lockstep.testkit.TestRedisSentinel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;

/**
 * What the coordinator asks of Redis, through its own {@link RedisOptions}, against a real Sentinel set and a real
 * Cluster: start-up's probe (and its refusals of a URL that names the wrong thing), the registry, the service lock
 * between two coordinators, and nudges from one coordinator to another (two Vert.x instances, so a nudge can only
 * cross through Redis) — in the Cluster, and in the Sentinel set before and after its primary moves.
 */
class RedisHaIT {
  private static final Duration PROBE = Duration.ofSeconds(3);
  /** Far longer than a nudge through Redis takes: a wait that ends sooner was woken by the nudge, not the fallback. */
  private static final long FALLBACK_MS = 10_000;

  private static TestRedisSentinel sentinel;
  private static TestRedisCluster cluster;
  private static final List<Vertx> vertxes = new ArrayList<>();
  private static final List<RedissonClient> clients = new ArrayList<>();

  @BeforeAll
  static void start() {
    Path dir = Path.of("target", "it", "RedisHaIT").toAbsolutePath();
    sentinel = TestRedisSentinel.start(dir.resolve("sentinel"));
    cluster = TestRedisCluster.start(dir.resolve("cluster"));
  }

  @AfterAll
  static void stop() {
    clients.forEach(RedissonClient::shutdown);
    vertxes.forEach(Vertx::close);
    if (sentinel != null) {
      sentinel.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void theClusterHoldsTheRegistryTheLockAndCarriesNudges() throws Exception {
    RedisOptions options = RedisOptions.of(RedisUrl.parse(cluster.url()), null);
    RedisProbe.check(options, PROBE);
    Coordinator a = new Coordinator(options);
    Coordinator b = new Coordinator(options);

    // Services whose hashes land on different nodes: the registry's batch (the set of services and one service's hash)
    // spans slots, and listing every service reads them all.
    List<String> services = new ArrayList<>();
    for (int i = 0; services.size() < 6; i++) {
      services.add("svc-" + UUID.randomUUID().toString().substring(0, 8));
    }
    for (String service : services) {
      await(a.registry.report(new AgentReport("web-1", service, "v1", AgentState.SERVING, null, 0, null, null, null)));
    }
    assertThat(services.stream().map(s -> cluster.portOf(AgentRegistry.AGENTS_KEY_PREFIX + s)).distinct().count())
        .as("the services' hashes spread over the nodes").isGreaterThan(1);
    assertThat(await(b.registry.list(null))).extracting(AgentStatus::service).containsAll(services);

    String service = services.get(0);
    lockPassesBetween(a, b, service);
    nudgeCrosses(a, b, service);
    nudgeCrosses(b, a, service);
  }

  @Test
  void theSentinelSetKeepsServingThroughFailoverAndTheLossOfItsPrimary() throws Exception {
    RedisOptions options = RedisOptions.of(RedisUrl.parse(sentinel.url()), null);
    RedisProbe.check(options, PROBE);
    Coordinator a = new Coordinator(options);
    Coordinator b = new Coordinator(options);
    String service = "svc-" + UUID.randomUUID().toString().substring(0, 8);
    everythingWorks(a, b, service, "before any failover");

    // The kill first: after a SENTINEL FAILOVER the old primary re-attaches as a replica only 10-15 s later, and a kill
    // waits for a replica in step; a killed and restarted node is one at once.
    sentinel.killPrimary();
    RedisProbe.check(options, PROBE);
    everythingWorks(a, b, service, "after kill -9 of the primary");
    sentinel.restartKilled();

    sentinel.failover();
    // Until the sentinels re-attach the old primary (10-15 s), a client still on it and one on the new primary may each
    // hold "the" lock (reliability.md; the fence in PostgreSQL decides). The lock is checked once the set is whole.
    sentinel.awaitHealthy();
    RedisProbe.check(options, PROBE);
    everythingWorks(a, b, service, "after SENTINEL FAILOVER");
    assertThat(Resp.call("127.0.0.1", sentinel.primaryPort(), "HEXISTS", AgentRegistry.AGENTS_KEY_PREFIX + service, "web-1"))
        .isEqualTo(1L);
  }

  @Test
  void aUrlThatNamesTheWrongThingIsAConfigurationErrorNotAnOutage() {
    String name = TestRedisSentinel.MASTER_NAME;
    int dataPort = sentinel.primaryPort();
    int sentinelPort = Integer.parseInt(sentinel.url().replaceAll("^redis-sentinel://127\\.0\\.0\\.1:(\\d+),.*$", "$1"));

    assertMisconfigured("redis-sentinel://127.0.0.1:" + dataPort + "#" + name, "127.0.0.1:" + dataPort
        + " is a Redis server, not a sentinel", "list the sentinels (usually port 26379)");
    assertMisconfigured("redis-sentinel://127.0.0.1:" + sentinelPort + "#orders", "monitors no master named 'orders'",
        "check the name after # in --redis-url");
    assertMisconfigured("redis-cluster://127.0.0.1:" + dataPort, "is a Redis server without cluster support",
        "use redis://127.0.0.1:" + dataPort + " for one server");

    // Nothing listening: an outage, retried.
    Throwable down = catchFrom("redis-sentinel://127.0.0.1:1,127.0.0.1:2#" + name);
    assertThat(StoreFailure.ofRedis(down).kind()).isEqualTo(StoreFailure.Kind.UNREACHABLE);
  }

  private static void assertMisconfigured(String url, String cause, String fix) {
    StoreFailure failure = StoreFailure.ofRedis(catchFrom(url));
    assertThat(failure.kind()).as(url).isEqualTo(StoreFailure.Kind.MISCONFIGURED);
    assertThat(failure.cause()).contains(cause);
    assertThat(failure.fix()).contains(fix);
  }

  private static Throwable catchFrom(String url) {
    RedisOptions options = RedisOptions.of(RedisUrl.parse(url), null);
    Throwable[] thrown = new Throwable[1];
    assertThatThrownBy(() -> {
      try {
        RedisProbe.check(options, PROBE);
      } catch (RuntimeException e) {
        thrown[0] = e;
        throw e;
      }
    }).isNotNull();
    return thrown[0];
  }

  /** The registry, the lock and nudges each way, with Redisson given time to follow a primary that moved. */
  private static void everythingWorks(Coordinator a, Coordinator b, String service, String when) throws Exception {
    long started = System.nanoTime();
    org.awaitility.Awaitility.await(when + ": a report written through one client and read through the other")
        .atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
          await(a.registry.report(new AgentReport("web-1", service, when, AgentState.SERVING, null, 0, null, null, null)));
          return await(b.registry.get(service, "web-1")).map(s -> s.revision().equals(when)).orElse(false);
        });
    System.out.printf("%s: the registry answered again after %.1f s%n", when, (System.nanoTime() - started) / 1e9);
    lockPassesBetween(a, b, service);
    nudgeCrosses(a, b, service);
    nudgeCrosses(b, a, service);
  }

  private static void lockPassesBetween(Coordinator a, Coordinator b, String service) throws Exception {
    ServiceLock first = new ServiceLock(a.vertx, a.redisson, service);
    ServiceLock second = new ServiceLock(b.vertx, b.redisson, service);
    assertThat(await(first.acquire(Duration.ofSeconds(10)))).isTrue();
    assertThat(await(second.acquire(Duration.ZERO))).as("the lock is held by the other coordinator").isFalse();
    await(first.release());
    assertThat(await(second.acquire(Duration.ofSeconds(5)))).isTrue();
    await(second.release());
  }

  /** A nudge published by {@code from} wakes a wait on {@code to} well before the wait's fallback. */
  private static void nudgeCrosses(Coordinator from, Coordinator to, String service) throws Exception {
    // The subscription may still be following a moved primary: publish until one arrives, each wait far shorter than the fallback.
    org.awaitility.Awaitility.await("a nudge crossing from one coordinator to the other through Redis")
        .atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10)).until(() -> {
          long started = System.nanoTime();
          Future<Void> woken = to.nudges.next(Nudges.RUN_INPUT, service, FALLBACK_MS);
          from.nudges.publish(Nudges.RUN_INPUT, service);
          try {
            woken.toCompletionStage().toCompletableFuture().get(2, TimeUnit.SECONDS);
          } catch (java.util.concurrent.TimeoutException e) {
            return false;
          }
          return System.nanoTime() - started < TimeUnit.MILLISECONDS.toNanos(FALLBACK_MS);
        });
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** What one coordinator process holds of Redis: its own Vert.x, its Redisson client, registry and nudges. */
  private static final class Coordinator {
    final Vertx vertx = Vertx.vertx();
    final RedissonClient redisson;
    final AgentRegistry registry;
    final Nudges nudges;

    Coordinator(RedisOptions options) throws Exception {
      vertxes.add(vertx);
      redisson = Redisson.create(options.redisson(Duration.ofSeconds(10)));
      clients.add(redisson);
      registry = new AgentRegistry(vertx, redisson, Clock.systemUTC(), Duration.ofSeconds(30));
      nudges = new Nudges(vertx, redisson);
      await(nudges.start());
    }
  }
}
