package dev.lockstep.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.store.StoreHarness;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import dev.lockstep.testkit.TestRedis;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Context;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * The desired-state fan-out against a real PostgreSQL and Redis: thousands of blocking queries on two event loops are
 * answered from one serialisation, each on the loop it came in on, and a wait that runs out is answered by the sweep.
 */
class DesiredStateWatchIT {
  private static TestDatabase db;
  private static StoreHarness stores;
  private static RedissonClient redisson;
  private static DesiredStateWatch watch;
  private static final List<Context> loops = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    db = TestPostgres.instance().createDatabase("DesiredStateWatchIT");
    stores = new StoreHarness(db);
    Config config = new Config();
    config.useSingleServer().setAddress(TestRedis.url());
    redisson = Redisson.create(config);
    watch = new DesiredStateWatch(stores.vertx, stores.releases, redisson, Duration.ofSeconds(60));
    // Three contexts, as serve has: the one that owns the watch, and two HTTP loops.
    for (int i = 0; i < 3; i++) {
      CountDownLatch deployed = new CountDownLatch(1);
      stores.vertx.deployVerticle(new AbstractVerticle() {
        @Override
        public void start() {
          loops.add(context);
          deployed.countDown();
        }
      });
      assertThat(deployed.await(10, TimeUnit.SECONDS)).isTrue();
    }
    CountDownLatch started = new CountDownLatch(1);
    loops.get(0).runOnContext(v -> watch.start().onComplete(r -> started.countDown()));
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
  }

  @AfterAll
  static void stop() {
    watch.stop();
    redisson.shutdown();
    stores.close();
    db.close();
  }

  @Test
  void aChangeAnswersThousandsOfWaitersOnTheirOwnLoopsFromOneSerialisation() throws Exception {
    write("app", 1, Phase.PREPARING);
    int waiting = 4000;
    CountDownLatch answered = new CountDownLatch(waiting);
    List<DesiredStateWatch.Snapshot> answers = new CopyOnWriteArrayList<>();
    Set<String> wrongThread = ConcurrentHashMap.newKeySet();
    for (int i = 0; i < waiting; i++) {
      Context loop = loops.get(1 + i % 2);
      loop.runOnContext(v -> {
        Thread asked = Thread.currentThread();
        watch.await("app", 1, Duration.ofMinutes(1)).onSuccess(s -> {
          if (Thread.currentThread() != asked) {
            wrongThread.add(asked.getName() + " answered on " + Thread.currentThread().getName());
          }
          answers.add(s);
          answered.countDown();
        });
      });
    }
    awaitWaiting(waiting);

    write("app", 2, Phase.SWITCHING);
    loops.get(0).runOnContext(v -> watch.changed("app"));

    assertThat(answered.await(10, TimeUnit.SECONDS)).as("every waiter answered").isTrue();
    assertThat(wrongThread).as("each answered on the loop it asked on").isEmpty();
    assertThat(answers).allSatisfy(s -> assertThat(s.state().phase()).isEqualTo(Phase.SWITCHING));
    Map<byte[], Boolean> distinct = new IdentityHashMap<>();
    answers.forEach(s -> distinct.put(s.json(), true));
    assertThat(distinct).as("one serialisation shared by all").hasSize(1);
    assertThat(Json.read(new String(answers.get(0).json(), java.nio.charset.StandardCharsets.UTF_8), DesiredState.class)
        .phase()).isEqualTo(Phase.SWITCHING);
    assertThat(watch.waiting()).isZero();
  }

  @Test
  void aWaitThatRunsOutIsAnsweredBySweepWithTheStateUnchangedAndAReReadWakesNobody() throws Exception {
    write("quiet", 1, Phase.PREPARING);
    CountDownLatch answered = new CountDownLatch(100);
    List<Long> tookMs = new CopyOnWriteArrayList<>();
    List<Long> indexes = new CopyOnWriteArrayList<>();
    for (int i = 0; i < 100; i++) {
      loops.get(1 + i % 2).runOnContext(v -> {
        long asked = System.nanoTime();
        watch.await("quiet", 1, Duration.ofMillis(600)).onSuccess(s -> {
          indexes.add(s.index());
          tookMs.add((System.nanoTime() - asked) / 1_000_000);
          answered.countDown();
        });
      });
    }
    awaitWaiting(100);
    // A re-read that finds the same index (the periodic one, or a nudge for nothing) must not answer anyone.
    loops.get(0).runOnContext(v -> watch.changed("quiet"));
    Thread.sleep(300);
    assertThat(answered.getCount()).as("still waiting after a re-read of the same state").isEqualTo(100);

    assertThat(answered.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(indexes).containsOnly(1L);
    // Never early; late by at most one sweep, plus the first read of the state and a loaded machine's slack.
    assertThat(tookMs).allSatisfy(ms -> assertThat(ms).isBetween(600L, 600L + DesiredStateWatch.SWEEP.toMillis() + 800));
    assertThat(watch.waiting()).isZero();
  }

  @Test
  void aWaiterWhoseIndexIsAlreadyOldIsAnsweredAtOnce() throws Exception {
    write("moved", 5, Phase.MIGRATING);
    DesiredStateWatch.Snapshot s = await(loops.get(1), () -> watch.await("moved", 3, Duration.ofMinutes(1)));
    assertThat(s.index()).isEqualTo(5);
  }

  private static void write(String service, long index, Phase phase) {
    DesiredState state = new DesiredState(service, 0, 1, "r-1", phase, "v2", null, null, null);
    db.execute("INSERT INTO lockstep.desired_state (service, idx, document) VALUES ('" + service + "', " + index + ", '"
        + Json.write(state) + "') ON CONFLICT (service) DO UPDATE SET idx = excluded.idx, document = excluded.document");
  }

  private static void awaitWaiting(int n) throws InterruptedException {
    long until = System.currentTimeMillis() + 10_000;
    while (watch.waiting() < n && System.currentTimeMillis() < until) {
      Thread.sleep(20);
    }
    assertThat(watch.waiting()).isEqualTo(n);
  }

  private static <T> T await(Context loop, java.util.function.Supplier<Future<T>> call) throws Exception {
    java.util.concurrent.CompletableFuture<T> result = new java.util.concurrent.CompletableFuture<>();
    loop.runOnContext(v -> call.get().onComplete(r -> {
      if (r.succeeded()) {
        result.complete(r.result());
      } else {
        result.completeExceptionally(r.cause());
      }
    }));
    return result.get(10, TimeUnit.SECONDS);
  }
}
