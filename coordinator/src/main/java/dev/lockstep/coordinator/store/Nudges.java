package dev.lockstep.coordinator.store;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.redisson.api.RTopic;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * "Something you wait for may have changed": a wake-up, never the data. The data stays in PostgreSQL
 * and Redis; a nudge only ends a wait early, on this instance through the event bus and on the
 * others through one Redis topic. A lost nudge costs one fallback period, so every wait has one.
 *
 * <p>Nudges of one kind and key are coalesced: the first goes out at once, those that follow within
 * {@link #COALESCE_MS} become one more at the end of that window. A fleet of thousands reporting PREPARED
 * together wakes the run a few dozen times, not once per report, and sends as few Redis messages; the last
 * report of a burst waits at most one window. Safe from any thread (the HTTP verticles publish from theirs).
 *
 * <pre>{@code nudges.next(Nudges.RUN_INPUT, "app", 1000).onComplete(v -> readTheRegistryAgain());}</pre>
 */
public final class Nudges {
  private static final Logger log = LoggerFactory.getLogger(Nudges.class);
  private static final String TOPIC = "lockstep:nudges";
  private static final String ADDRESS = "lockstep.nudge.";

  /** An agent of the service (the key) reported, or an operator asked to abort: a waiting run looks again. */
  public static final String RUN_INPUT = "run-input";
  /** The release (the key) has a new event. */
  public static final String RELEASE_EVENT = "release-event";
  /** A coordinator let go of the service (the key) at shutdown: its release is free to take over. */
  public static final String HANDED_OVER = "handed-over";

  /** How long after a nudge the same nudge is held back, to be sent once at the window's end. */
  static final long COALESCE_MS = 10;

  private final Vertx vertx;
  private final RTopic topic;
  /** Nudges sent within the current window. */
  private final Set<String> quiet = ConcurrentHashMap.newKeySet();
  /** Nudges asked for again within their window: sent once when it ends. */
  private final Set<String> owed = ConcurrentHashMap.newKeySet();

  public Nudges(Vertx vertx, RedissonClient redisson) {
    this.vertx = vertx;
    this.topic = redisson.getTopic(TOPIC, StringCodec.INSTANCE);
  }

  /** Relays the other instances' nudges to this one's event bus. */
  public Future<Void> start() {
    return Future.fromCompletionStage(topic.addListenerAsync(String.class,
        (channel, message) -> vertx.eventBus().publish(ADDRESS + message, "")), vertx.getOrCreateContext()).mapEmpty();
  }

  public void stop() {
    topic.removeAllListenersAsync();
  }

  /** Wakes whoever waits for {@code kind} of {@code key}, here at once and elsewhere through Redis (best effort). */
  public void publish(String kind, String key) {
    publish(kind + ":" + key);
  }

  private void publish(String message) {
    if (!quiet.add(message)) {
      owed.add(message);
      // The window may have ended between the two lines above: then nobody settles this one but us.
      if (!quiet.contains(message) && owed.remove(message)) {
        publish(message);
      }
      return;
    }
    send(message);
    vertx.setTimer(COALESCE_MS, t -> settle(message));
  }

  /**
   * The window ends: a nudge asked for meanwhile goes out now (and opens a window of its own). Quiet is cleared first,
   * so a publish racing with this one either finds the window open and sends, or finds it closed and is owed.
   */
  private void settle(String message) {
    quiet.remove(message);
    if (owed.remove(message)) {
      publish(message);
    }
  }

  private void send(String message) {
    vertx.eventBus().publish(ADDRESS + message, "");
    topic.publishAsync(message).exceptionally(e -> {
      log.debug("nudge {} not published ({}); others notice at their next re-read", message, e.getMessage());
      return 0L;
    });
  }

  /** Completes at the next nudge of {@code kind} for {@code key}, or after {@code fallbackMs}, whichever is first. */
  public Future<Void> next(String kind, String key, long fallbackMs) {
    Promise<Void> woken = Promise.promise();
    MessageConsumer<Object> consumer = vertx.eventBus().localConsumer(ADDRESS + kind + ":" + key, m -> woken.tryComplete());
    long timer = vertx.setTimer(fallbackMs, t -> woken.tryComplete());
    return woken.future().onComplete(v -> {
      vertx.cancelTimer(timer);
      consumer.unregister();
    });
  }

  /** Completes after {@code ms}, on the caller's context: a rest between rounds of whoever waits for nudges. */
  public Future<Void> pause(long ms) {
    return vertx.timer(ms).mapEmpty();
  }

  /** Runs {@code handler} at every nudge of {@code kind} for {@code key} until the returned consumer is unregistered. */
  public MessageConsumer<Object> subscribe(String kind, String key, Runnable handler) {
    return vertx.eventBus().localConsumer(ADDRESS + kind + ":" + key, m -> handler.run());
  }
}
