package dev.lockstep.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.testkit.TcpProxy;
import dev.lockstep.testkit.TestClock;
import dev.lockstep.testkit.TestRedis;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * The registry against a real Redis: an agent is identified by (service, id), so two services that
 * each have a server called {@code web-1} both see their own.
 */
class AgentRegistryIT {
  private static Vertx vertx;
  private static RedissonClient redisson;
  private static AgentRegistry registry;
  // Redis is shared by every test of the JVM: services unique to this run keep the keys apart.
  private final String shop = "shop-" + UUID.randomUUID().toString().substring(0, 8);
  private final String blog = "blog-" + UUID.randomUUID().toString().substring(0, 8);

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    Config config = new Config();
    config.useSingleServer().setAddress(TestRedis.url());
    redisson = Redisson.create(config);
    registry = new AgentRegistry(vertx, redisson, Clock.systemUTC(), Duration.ofSeconds(10));
  }

  @AfterAll
  static void stop() {
    redisson.shutdown();
    vertx.close();
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static AgentReport report(String service, String id, String revision) {
    return new AgentReport(id, service, revision, AgentState.SERVING, null, 0, null, null, null);
  }

  @Test
  void twoServicesWithTheSameAgentIdAreBothListedEachUnderItsOwnService() throws Exception {
    await(registry.report(report(shop, "web-1", "shop-v1")));
    await(registry.report(report(blog, "web-1", "blog-v7")));

    List<AgentStatus> shopAgents = await(registry.list(shop));
    List<AgentStatus> blogAgents = await(registry.list(blog));
    assertThat(shopAgents).extracting(AgentStatus::id, AgentStatus::service, AgentStatus::revision)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("web-1", shop, "shop-v1"));
    assertThat(blogAgents).extracting(AgentStatus::id, AgentStatus::service, AgentStatus::revision)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("web-1", blog, "blog-v7"));
    assertThat(await(registry.list(null))).extracting(AgentStatus::service).contains(shop, blog);
  }

  // Other test runs may share this Redis and have a web-1 of their own.
  private List<AgentStatus> mine(List<AgentStatus> agents) {
    return agents.stream().filter(a -> a.service().equals(shop) || a.service().equals(blog)).toList();
  }

  @Test
  void anAgentIsFoundRemovedAndLookedUpByServiceAndId() throws Exception {
    await(registry.report(report(shop, "web-1", "shop-v1")));
    await(registry.report(report(blog, "web-1", "blog-v7")));
    await(registry.report(report(shop, "web-2", "shop-v1")));

    assertThat(await(registry.get(shop, "web-1")).map(AgentStatus::revision)).hasValue("shop-v1");
    assertThat(await(registry.get(blog, "web-1")).map(AgentStatus::revision)).hasValue("blog-v7");
    assertThat(await(registry.get(blog, "web-2"))).isEmpty();
    assertThat(mine(await(registry.find("web-1")))).extracting(AgentStatus::service).containsExactlyInAnyOrder(shop, blog);
    assertThat(mine(await(registry.find("web-2")))).extracting(AgentStatus::service).containsExactly(shop);

    assertThat(await(registry.remove(blog, "web-1"))).isTrue();
    assertThat(await(registry.remove(blog, "web-1"))).as("already gone").isFalse();
    assertThat(await(registry.get(shop, "web-1"))).as("the other service's web-1 stays").isPresent();
    assertThat(mine(await(registry.find("web-1")))).extracting(AgentStatus::service).containsExactly(shop);
    assertThat(await(registry.list(blog))).isEmpty();
    assertThat(await(registry.list(shop))).extracting(AgentStatus::id).containsExactly("web-1", "web-2");
  }

  @Test
  void eachServiceHasItsOwnRedisHash() throws Exception {
    await(registry.report(report(shop, "web-1", "shop-v1")));
    assertThat(redisson.getMap(AgentRegistry.AGENTS_KEY_PREFIX + shop, org.redisson.client.codec.StringCodec.INSTANCE)
        .keySet()).containsExactly("web-1");
    assertThat(redisson.getSet(AgentRegistry.SERVICES_KEY, org.redisson.client.codec.StringCodec.INSTANCE)
        .contains(shop)).isTrue();
  }

  @Test
  void aListingOfEveryServiceStrikesTheServicesItFindsEmpty() throws Exception {
    org.redisson.api.RSet<String> services =
        redisson.getSet(AgentRegistry.SERVICES_KEY, org.redisson.client.codec.StringCodec.INSTANCE);
    await(registry.report(report(shop, "web-1", "shop-v1")));
    await(registry.report(report(blog, "web-1", "blog-v1")));
    assertThat(await(registry.remove(blog, "web-1"))).isTrue();
    assertThat(services.contains(blog)).as("listed until a listing finds it empty").isTrue();

    assertThat(mine(await(registry.list(null)))).extracting(AgentStatus::service).containsExactly(shop);
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> !services.contains(blog));
    assertThat(services.contains(shop)).as("a service with agents stays").isTrue();

    await(registry.report(report(blog, "web-2", "blog-v1")));
    assertThat(services.contains(blog)).as("its next report names it again").isTrue();
    assertThat(mine(await(registry.list(null)))).extracting(AgentStatus::service, AgentStatus::id)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(blog, "web-2"), org.assertj.core.groups.Tuple.tuple(shop, "web-1"));
  }

  @org.junit.jupiter.api.AfterEach
  void forget() {
    redisson.getMap(AgentRegistry.AGENTS_KEY_PREFIX + shop).delete();
    redisson.getMap(AgentRegistry.AGENTS_KEY_PREFIX + blog).delete();
    redisson.getSet(AgentRegistry.SERVICES_KEY, org.redisson.client.codec.StringCodec.INSTANCE).removeAll(List.of(shop, blog));
  }

  /**
   * While the registry cannot be reached (Redis down, failing over) reports fail too: an agent's silence counts from the
   * registry's last trouble, not from its last report, so the fleet is not lost the moment Redis is back; an agent that
   * stays silent is lost {@code lostAfter} after that.
   */
  @Test
  void silenceDuringARegistryOutageIsNotTheAgentsOwn() throws Exception {
    java.net.URI redis = java.net.URI.create(TestRedis.url());
    TestClock clock = TestClock.at("2026-01-01T00:00:00Z");
    try (TcpProxy proxy = new TcpProxy(redis.getHost(), redis.getPort())) {
      Config config = new Config();
      config.useSingleServer().setAddress("redis://127.0.0.1:" + proxy.port()).setTimeout(500).setRetryAttempts(0)
          .setConnectTimeout(500);
      RedissonClient proxied = Redisson.create(config);
      try {
        AgentRegistry throughProxy = new AgentRegistry(vertx, proxied, clock, Duration.ofSeconds(10));
        AgentRegistry direct = new AgentRegistry(vertx, redisson, clock, Duration.ofSeconds(10));
        await(throughProxy.report(report(shop, "web-1", "v1")));

        clock.advance(Duration.ofSeconds(5));
        proxy.cut();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> await(throughProxy.list(shop)));
        assertThat(throughProxy.troubledAt()).isEqualTo(clock.instant());
        proxy.restore();
        // Redisson reconnects in its own time; reads failing meanwhile are the same outage (the clock stands still).
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
            .ignoreExceptions().until(() -> await(throughProxy.list(shop)).size() == 1);

        clock.advance(Duration.ofSeconds(8)); // 13 s since its report, 8 s since the outage
        assertThat(await(throughProxy.list(shop))).singleElement()
            .satisfies(a -> assertThat(a.state()).isEqualTo(AgentState.SERVING));
        assertThat(await(direct.list(shop))).as("an instance that saw no outage judges by the report alone")
            .singleElement().satisfies(a -> assertThat(a.state()).isEqualTo(AgentState.LOST));

        clock.advance(Duration.ofSeconds(3)); // 11 s since the outage
        assertThat(await(throughProxy.list(shop))).singleElement()
            .satisfies(a -> assertThat(a.state()).isEqualTo(AgentState.LOST));
      } finally {
        proxied.shutdown();
      }
    }
  }
}
