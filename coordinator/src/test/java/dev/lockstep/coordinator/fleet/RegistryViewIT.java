package dev.lockstep.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import dev.lockstep.testkit.TestRedis;
import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
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
import org.redisson.config.Config;

/**
 * The status view against a real Redis: pages walk a fleet in id order, this instance's own reports show at once,
 * another instance's within a re-read, and the version moves only when something changed.
 */
class RegistryViewIT {
  private static Vertx vertx;
  private static RedissonClient redisson;
  private static AgentRegistry registry;
  private final String service = "viewed-" + UUID.randomUUID().toString().substring(0, 8);

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    Config config = new Config();
    config.useSingleServer().setAddress(TestRedis.url());
    redisson = Redisson.create(config);
    registry = new AgentRegistry(vertx, redisson, Clock.systemUTC(), Duration.ofSeconds(30));
  }

  /** Its 3,000 agents do not stay in the shared Redis (a listing of every service would read them in later runs). */
  @org.junit.jupiter.api.AfterEach
  void forget() {
    redisson.getKeys().delete(AgentRegistry.AGENTS_KEY_PREFIX + service);
    redisson.getSet(AgentRegistry.SERVICES_KEY, org.redisson.client.codec.StringCodec.INSTANCE).remove(service);
  }

  @AfterAll
  static void stop() {
    redisson.shutdown();
    vertx.close();
  }

  @Test
  void pagesWalkThreeThousandAgentsInIdOrderWithTheTotalOnEachAndFiltersApply() throws Exception {
    List<Future<AgentStatus>> reports = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      reports.add(registry.report(report(String.format("web-%04d", i), i % 3 == 0 ? "v2" : "v1", AgentState.SERVING)));
    }
    await(Future.all(reports));
    RegistryView view = new RegistryView(registry, Clock.systemUTC());

    List<String> seen = new ArrayList<>();
    String after = null;
    int pages = 0;
    do {
      RegistryView.Page page = await(view.page(service, a -> true, after, 1000));
      assertThat(page.total()).isEqualTo(3000);
      JsonNode agents = Json.mapper().readTree(page.json());
      agents.forEach(a -> seen.add(a.get("id").asText()));
      after = page.next();
      pages++;
    } while (after != null);
    assertThat(pages).isEqualTo(3);
    assertThat(seen).hasSize(3000).isSorted().doesNotHaveDuplicates();

    RegistryView.Page v2 = await(view.page(service, a -> "v2".equals(a.revision()), null, 0));
    assertThat(v2.total()).isEqualTo(1000);
    assertThat(Json.mapper().readTree(v2.json())).hasSize(1000);
    assertThat(v2.next()).isNull();
  }

  @Test
  void ownReportsShowAtOnceAnotherInstancesAfterAReReadAndTheVersionMovesOnlyOnChange() throws Exception {
    await(registry.report(report("a-1", "v1", AgentState.SERVING)));
    RegistryView here = new RegistryView(registry, Clock.systemUTC());
    assertThat(ids(here)).containsExactly("a-1");
    String quiet = await(here.version(service));
    Thread.sleep(RegistryView.RESYNC.toMillis() + 200);
    assertThat(await(here.version(service))).as("a re-read that found nothing new keeps the version").isEqualTo(quiet);

    // A report this instance took: listed at once, the version moved.
    AgentStatus own = await(registry.report(report("a-2", "v1", AgentState.SERVING)));
    here.reported(own);
    assertThat(ids(here)).containsExactly("a-1", "a-2");
    assertThat(await(here.version(service))).isNotEqualTo(quiet);

    // A report another instance took (straight into the registry): seen after the next re-read.
    await(registry.report(report("a-3", "v2", AgentState.PREPARED)));
    long until = System.currentTimeMillis() + RegistryView.RESYNC.toMillis() * 3;
    while (!ids(here).contains("a-3") && System.currentTimeMillis() < until) {
      Thread.sleep(50);
    }
    assertThat(ids(here)).containsExactly("a-1", "a-2", "a-3");

    // Removed here: gone at once, though the re-read has not come.
    await(registry.remove(service, "a-1"));
    here.removed(service, "a-1");
    assertThat(ids(here)).containsExactly("a-2", "a-3");
    String[] versions = {await(here.version(service)), null};
    versions[1] = await(here.version(service));
    assertThat(versions[1]).isEqualTo(versions[0]);
    assertThat(versions[0]).as("another view of the same fleet never shares a version").isNotEqualTo(
        await(new RegistryView(registry, Clock.systemUTC()).version(service)));
  }

  /**
   * The API server writes responses directly, only from the connection's loop (strict thread mode): two loops whose
   * listings share one re-read of the registry must each continue on their own, not on the loop that started it.
   */
  @Test
  void loopsSharingOneReReadEachContinueOnTheirOwnLoop() throws Exception {
    await(registry.report(report("a-1", "v1", AgentState.SERVING)));
    dev.lockstep.testkit.TestClock clock = dev.lockstep.testkit.TestClock.at(java.time.Instant.now().toString());
    RegistryView view = new RegistryView(registry, clock);
    // Two HTTP loops, as serve has: a verticle each (a barrier below holds each loop until both asked).
    List<io.vertx.core.Context> loops = new java.util.concurrent.CopyOnWriteArrayList<>();
    for (int i = 0; i < 2; i++) {
      await(vertx.deployVerticle(new io.vertx.core.AbstractVerticle() {
        @Override
        public void start() {
          loops.add(context);
        }
      }));
    }
    List<String> wrongThread = java.util.Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.CountDownLatch answered = new java.util.concurrent.CountDownLatch(2 * 20);
    for (int round = 0; round < 20; round++) {
      java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
      for (io.vertx.core.Context loop : loops) {
        loop.runOnContext(v -> {
          Thread asking = Thread.currentThread();
          // Both ask before either re-read can end, so the second joins the first's.
          view.page(service, a -> true, null, 0).onComplete(r -> {
            if (Thread.currentThread() != asking || io.vertx.core.Vertx.currentContext() != loop) {
              wrongThread.add("asked on " + asking.getName() + ", continued on " + Thread.currentThread().getName());
            }
            answered.countDown();
          });
          awaitQuietly(together);
        });
      }
      Thread.sleep(50);
      clock.advance(RegistryView.RESYNC.multipliedBy(2)); // the next round's listings re-read the registry again
    }
    assertThat(answered.await(30, TimeUnit.SECONDS)).as("every listing answered").isTrue();
    assertThat(wrongThread).isEmpty();
  }

  private static void awaitQuietly(java.util.concurrent.CyclicBarrier barrier) {
    try {
      barrier.await(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private List<String> ids(RegistryView view) throws Exception {
    List<String> ids = new ArrayList<>();
    Json.mapper().readTree(await(view.page(service, a -> true, null, 0)).json()).forEach(a -> ids.add(a.get("id").asText()));
    return ids;
  }

  private AgentReport report(String id, String revision, AgentState state) {
    return new AgentReport(id, service, revision, state, null, 0, null, null, null);
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }
}
