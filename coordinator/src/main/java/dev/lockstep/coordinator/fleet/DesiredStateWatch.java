package dev.lockstep.coordinator.fleet;

import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Durations;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

  private final Vertx vertx;
  private final ReleaseStore store;
  private final RTopic topic;
  private final Duration reread;
  private final Map<String, DesiredState> current = new HashMap<>();
  private final Map<String, List<Promise<DesiredState>>> waiters = new HashMap<>();
  private long timerId = -1;

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

  /** Subscribes to nudges and starts the periodic re-read. Call once, on the event loop that will own it. */
  public Future<Void> start() {
    var context = vertx.getOrCreateContext();
    timerId = vertx.setPeriodic(reread.toMillis(), id -> current.keySet().forEach(this::refresh));
    return Future.fromCompletionStage(topic.addListenerAsync(String.class,
            (channel, service) -> context.runOnContext(v -> refresh(service))), context)
        .mapEmpty();
  }

  public void stop() {
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
    topic.removeAllListenersAsync();
  }

  /** The desired state, as soon as its index differs from {@code index} or after {@code wait}. */
  public Future<DesiredState> await(String service, long index, Duration wait) {
    return state(service).compose(state -> {
      if (state.index() != index || wait.isZero()) {
        return Future.succeededFuture(state);
      }
      Promise<DesiredState> promise = Promise.promise();
      waiters.computeIfAbsent(service, s -> new ArrayList<>()).add(promise);
      long timer = vertx.setTimer(wait.toMillis(), t -> {
        List<Promise<DesiredState>> list = waiters.get(service);
        if (list != null && list.remove(promise)) {
          promise.tryComplete(current.getOrDefault(service, state));
        }
      });
      return promise.future().onComplete(r -> vertx.cancelTimer(timer));
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

  private Future<DesiredState> state(String service) {
    DesiredState known = current.get(service);
    return known != null ? Future.succeededFuture(known) : refresh(service);
  }

  private Future<DesiredState> refresh(String service) {
    return store.desired(service).onSuccess(state -> {
      DesiredState before = current.put(service, state);
      if (before == null || before.index() != state.index()) {
        List<Promise<DesiredState>> list = waiters.remove(service);
        if (list != null) {
          list.forEach(p -> p.tryComplete(state));
        }
      }
    }).onFailure(e -> log.warn("could not read desired state of {}: {}", service, e.getMessage()));
  }
}
