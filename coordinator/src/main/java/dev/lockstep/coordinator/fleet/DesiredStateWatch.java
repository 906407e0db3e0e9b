package dev.lockstep.coordinator.fleet;

import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.Json;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.redisson.api.RTopic;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the agents' blocking queries on a service's desired state (Consul style: {@code
 * ?index=N&wait=30s} returns at once when the index differs from N, else when it changes, else
 * after the wait). The durable state is in PostgreSQL; a write is followed by a Redis pub/sub nudge
 * so every coordinator instance re-reads at once, and a periodic re-read covers lost nudges.
 *
 * <p>Built for thousands of waiting agents on several event loops (issue 20):
 * <ul>
 *   <li>a new state is serialised once, and every waiting response is written from those same bytes;</li>
 *   <li>each waiter remembers the event loop its request came in on, and a change completes the waiters of each loop
 *       with one task on that loop, so the responses go out on every loop at once;</li>
 *   <li>no timer per waiter: one sweep every {@link #SWEEP} answers the waits that ran out (a wait ends up to one
 *       sweep late, which an agent's 30 s wait does not notice).</li>
 * </ul>
 * Thread-safety: {@link #await} may be called on any event loop; the states and waiters are concurrent collections; a
 * waiter is completed once ({@link Waiter#done}); the re-read, the sweep and the nudges run on the context that called
 * {@link #start}.
 *
 * <pre>{@code
 * DesiredStateWatch watch = new DesiredStateWatch(vertx, store, redisson);   // re-reads every 2 s
 * DesiredStateWatch quick = new DesiredStateWatch(vertx, store, redisson, Duration.ofMillis(100));
 * }</pre>
 */
public final class DesiredStateWatch {
  private static final Logger log = LoggerFactory.getLogger(DesiredStateWatch.class);
  private static final String TOPIC = "lockstep:desired";
  /** How often {@code serve} re-reads the desired states it holds, so a lost nudge costs at most this. */
  public static final Duration DEFAULT_REREAD = Duration.ofSeconds(2);
  /** How often the waits that ran out are answered. */
  static final Duration SWEEP = Duration.ofMillis(200);

  /** A desired state and its JSON, serialised once for every response that carries it. */
  public record Snapshot(DesiredState state, byte[] json) {
    static Snapshot of(DesiredState state) {
      return new Snapshot(state, Json.write(state).getBytes(StandardCharsets.UTF_8));
    }

    public long index() {
      return state.index();
    }
  }

  /** One blocking query: where to answer it, by when. */
  private static final class Waiter {
    final Context context;
    final long index;
    final Promise<Snapshot> promise = Promise.promise();
    final long deadlineNanos;
    final AtomicBoolean done = new AtomicBoolean();

    Waiter(Context context, long index, long deadlineNanos) {
      this.context = context;
      this.index = index;
      this.deadlineNanos = deadlineNanos;
    }
  }

  private final Vertx vertx;
  private final ReleaseStore store;
  private final RTopic topic;
  private final Duration reread;
  private final Map<String, Snapshot> current = new ConcurrentHashMap<>();
  private final Map<String, Queue<Waiter>> waiters = new ConcurrentHashMap<>();
  /** Reads in flight of states not known yet, shared by whoever asks meanwhile. */
  private final Map<String, Future<Snapshot>> reading = new ConcurrentHashMap<>();
  private long rereadTimer = -1;
  private long sweepTimer = -1;

  public DesiredStateWatch(Vertx vertx, ReleaseStore store, RedissonClient redisson) {
    this(vertx, store, redisson, DEFAULT_REREAD);
  }

  /** {@code reread}: the period of the re-read that covers a lost nudge. */
  public DesiredStateWatch(Vertx vertx, ReleaseStore store, RedissonClient redisson, Duration reread) {
    this.vertx = vertx;
    this.store = store;
    this.topic = redisson.getTopic(TOPIC, StringCodec.INSTANCE);
    this.reread = reread;
  }

  /** Subscribes to nudges and starts the periodic re-read and sweep. Call once, on the context that will own them. */
  public Future<Void> start() {
    var context = vertx.getOrCreateContext();
    rereadTimer = vertx.setPeriodic(reread.toMillis(), id -> current.keySet().forEach(this::refresh));
    sweepTimer = vertx.setPeriodic(SWEEP.toMillis(), id -> sweep());
    return Future.fromCompletionStage(topic.addListenerAsync(String.class,
            (channel, service) -> context.runOnContext(v -> refresh(service))), context)
        .mapEmpty();
  }

  public void stop() {
    if (rereadTimer >= 0) {
      vertx.cancelTimer(rereadTimer);
      vertx.cancelTimer(sweepTimer);
    }
    topic.removeAllListenersAsync();
  }

  /** The desired state, as soon as its index differs from {@code index} or after {@code wait}. Any event loop. */
  public Future<Snapshot> await(String service, long index, Duration wait) {
    Context context = vertx.getOrCreateContext();
    return SharedReads.onto(context, state(service)).compose(known -> {
      if (known.index() != index || wait.isZero()) {
        return Future.succeededFuture(known);
      }
      Waiter waiter = new Waiter(context, index, System.nanoTime() + wait.toNanos());
      waiters.computeIfAbsent(service, s -> new ConcurrentLinkedQueue<>()).add(waiter);
      // A change that landed between the read above and the add has already drained the queue: look once more.
      Snapshot now = current.get(service);
      if (now != null && now.index() != index) {
        answer(waiter, now);
      }
      return waiter.promise.future();
    });
  }

  /** Called after this instance wrote a new desired state: wake local waiters, nudge the others. */
  public void changed(String service) {
    refresh(service);
    topic.publishAsync(service).exceptionally(e -> {
      log.warn("could not publish desired-state nudge for {} ({}); other coordinators pick it up within {}",
          service, e.getMessage(), Durations.format(reread));
      return 0L;
    });
  }

  /** How many blocking queries wait now, over every service (for tests and the bench). */
  public int waiting() {
    return waiters.values().stream().mapToInt(Queue::size).sum();
  }

  /**
   * The state as known, else read once however many ask at once: a fleet polling a coordinator that just started
   * costs one read per service, not one per agent.
   */
  private Future<Snapshot> state(String service) {
    Snapshot known = current.get(service);
    if (known != null) {
      return Future.succeededFuture(known);
    }
    Promise<Snapshot> read = Promise.promise();
    Future<Snapshot> already = reading.putIfAbsent(service, read.future());
    if (already != null) {
      return already;
    }
    refresh(service).onComplete(r -> {
      reading.remove(service, read.future());
      read.handle(r);
    });
    return read.future();
  }

  private Future<Snapshot> refresh(String service) {
    return store.desired(service).map(state -> {
      Snapshot fresh = Snapshot.of(state);
      // Reads may finish out of order (several loops, a re-read and a nudge at once): an index never goes back.
      Snapshot kept = current.merge(service, fresh, (old, read) -> read.index() >= old.index() ? read : old);
      Queue<Waiter> queue = waiters.get(service);
      if (queue != null && !queue.isEmpty()) {
        answerEvery(queue, w -> w.index != kept.index(), kept);
      }
      return kept;
    }).onFailure(e -> log.warn("could not read desired state of {}: {}", service, e.getMessage()));
  }

  /** Answers the waits that ran out with the state as it is, leaving the others waiting. */
  private void sweep() {
    long now = System.nanoTime();
    waiters.forEach((service, queue) -> {
      Snapshot known = current.get(service);
      if (known != null && !queue.isEmpty()) {
        answerEvery(queue, w -> now - w.deadlineNanos >= 0, known);
      }
    });
  }

  /**
   * Takes out of {@code queue} the waiters {@code which} selects (the state moved past theirs, or their time ran out)
   * and answers them, one task per event loop; drops those already answered.
   */
  private void answerEvery(Queue<Waiter> queue, java.util.function.Predicate<Waiter> which, Snapshot state) {
    Map<Context, List<Waiter>> byLoop = new HashMap<>();
    for (Iterator<Waiter> it = queue.iterator(); it.hasNext(); ) {
      Waiter w = it.next();
      if (w.done.get() || which.test(w)) {
        it.remove();
        if (w.done.compareAndSet(false, true)) {
          byLoop.computeIfAbsent(w.context, c -> new ArrayList<>()).add(w);
        }
      }
    }
    byLoop.forEach((context, list) -> context.runOnContext(v -> list.forEach(w -> w.promise.complete(state))));
  }

  private void answer(Waiter waiter, Snapshot state) {
    if (waiter.done.compareAndSet(false, true)) {
      waiter.context.runOnContext(v -> waiter.promise.complete(state));
    }
  }
}
