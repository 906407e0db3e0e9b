package dev.lockstep.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
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

  @org.junit.jupiter.api.AfterEach
  void forget() {
    redisson.getMap(AgentRegistry.AGENTS_KEY_PREFIX + shop).delete();
    redisson.getMap(AgentRegistry.AGENTS_KEY_PREFIX + blog).delete();
    redisson.getSet(AgentRegistry.SERVICES_KEY, org.redisson.client.codec.StringCodec.INSTANCE).removeAll(List.of(shop, blog));
  }
}
