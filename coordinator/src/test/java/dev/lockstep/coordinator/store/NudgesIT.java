package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.testkit.TestRedis;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * Nudges against a real Redis, between two "instances" (two Vert.x and two Redis clients): a burst of reports wakes
 * each instance a handful of times, not once per report, and the last nudge of a burst is never lost.
 */
class NudgesIT {
  private static Vertx here;
  private static Vertx there;
  private static RedissonClient redisHere;
  private static RedissonClient redisThere;
  private static Nudges nudgesHere;
  private static Nudges nudgesThere;
  private final String service = "nudged-" + UUID.randomUUID().toString().substring(0, 8);

  @BeforeAll
  static void start() throws Exception {
    here = Vertx.vertx();
    there = Vertx.vertx();
    redisHere = redisson();
    redisThere = redisson();
    nudgesHere = new Nudges(here, redisHere);
    nudgesThere = new Nudges(there, redisThere);
    nudgesHere.start().await(10, TimeUnit.SECONDS);
    nudgesThere.start().await(10, TimeUnit.SECONDS);
  }

  private static RedissonClient redisson() {
    Config config = new Config();
    config.useSingleServer().setAddress(TestRedis.url());
    return Redisson.create(config);
  }

  @AfterAll
  static void stop() {
    nudgesHere.stop();
    nudgesThere.stop();
    redisHere.shutdown();
    redisThere.shutdown();
    here.close();
    there.close();
  }

  @Test
  void aBurstOfAThousandNudgesWakesEachInstanceAFewTimesAndTheLastOneArrives() throws Exception {
    AtomicInteger wokenHere = new AtomicInteger();
    AtomicInteger wokenThere = new AtomicInteger();
    subscribe(here, nudgesHere, wokenHere);
    subscribe(there, nudgesThere, wokenThere);

    for (int i = 0; i < 1000; i++) {
      nudgesHere.publish(Nudges.RUN_INPUT, service);
    }

    // The first goes out at once, the other 999 (sent within one window) as one more at the window's end.
    await().atMost(Duration.ofSeconds(5)).until(() -> wokenHere.get() >= 2 && wokenThere.get() >= 1);
    Thread.sleep(300);
    assertThat(wokenHere.get()).as("local wake-ups for 1000 nudges").isBetween(2, 10);
    // The other instance hears the Redis messages only (its own event bus is not ours).
    assertThat(wokenThere.get()).as("wake-ups through Redis for 1000 nudges").isBetween(1, 10);
  }

  @Test
  void aNudgeAfterTheWindowGoesOutAtOnceAndANudgeWithinItIsNotLost() throws Exception {
    AtomicInteger woken = new AtomicInteger();
    subscribe(there, nudgesThere, woken);
    nudgesHere.publish(Nudges.RUN_INPUT, service);
    await().atMost(Duration.ofSeconds(5)).until(() -> woken.get() == 1);
    Thread.sleep(Nudges.COALESCE_MS * 5);

    // A wait that starts now is woken by the next nudge, though the one before it was only just sent.
    CountDownLatch next = new CountDownLatch(1);
    there.runOnContext(v -> nudgesThere.next(Nudges.RUN_INPUT, service, 60_000).onComplete(r -> next.countDown()));
    Thread.sleep(100);
    nudgesHere.publish(Nudges.RUN_INPUT, service);
    nudgesHere.publish(Nudges.RUN_INPUT, service);
    assertThat(next.await(5, TimeUnit.SECONDS)).as("woken well before its 60 s fallback").isTrue();
    await().atMost(Duration.ofSeconds(5)).until(() -> woken.get() == 3);
    Thread.sleep(200);
    assertThat(woken.get()).as("the nudge and the one owed at its window's end").isEqualTo(3);
  }

  private void subscribe(Vertx vertx, Nudges nudges, AtomicInteger count) throws Exception {
    CountDownLatch subscribed = new CountDownLatch(1);
    vertx.runOnContext(v -> {
      nudges.subscribe(Nudges.RUN_INPUT, service, count::incrementAndGet);
      subscribed.countDown();
    });
    assertThat(subscribed.await(5, TimeUnit.SECONDS)).isTrue();
  }
}
