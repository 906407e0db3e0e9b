package dev.lockstep.coordinator.store;

import dev.lockstep.protocol.Durations;
import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.function.Supplier;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reaches PostgreSQL and Redis at start-up, both at once, each retried with capped exponential
 * backoff for as long as it is out of reach, while {@link StoreState} tells {@code /health} and
 * {@code /ready} why the coordinator is not ready yet. Each outage logs one line, not a stack.
 * A configuration error (a wrong password, no such role or database) is not retried: it fails
 * start-up with an {@link IllegalArgumentException} naming the store, its URL without password,
 * the cause and the fix, which {@code lockstep serve} turns into one line and exit status 2.
 *
 * <pre>{@code
 * StoreStartup startup = new StoreStartup(postgresState, redisState, StoreStartup.Backoff.DEFAULT);
 * RedissonClient redisson = startup.connect(connections, redisOptions, () -> Redisson.create(config));
 * // PostgreSQL answered and the lockstep schema exists; Redis answered and redisson is connected.
 * }</pre>
 */
public final class StoreStartup {
  private static final Logger log = LoggerFactory.getLogger(StoreStartup.class);

  /** Waits {@code first}, doubling after each failed attempt up to {@code max}, counted from the attempt's start. */
  public record Backoff(Duration first, Duration max) {
    public static final Backoff DEFAULT = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(10));

    /** The pause before attempt {@code attempt + 1}, after {@code attempt} (1, 2, …) failed ones. */
    public Duration after(int attempt) {
      Duration delay = first;
      for (int i = 1; i < attempt && delay.compareTo(max) < 0; i++) {
        delay = delay.multipliedBy(2);
      }
      return delay.compareTo(max) < 0 ? delay : max;
    }
  }

  /** One try at a store; throws what the store's client threw. */
  @FunctionalInterface
  interface Attempt<T> {
    T run() throws Exception;
  }

  private static final Duration REDIS_PROBE_TIMEOUT = Duration.ofSeconds(5);

  private final StoreState postgres;
  private final StoreState redis;
  private final Backoff backoff;

  public StoreStartup(StoreState postgres, StoreState redis, Backoff backoff) {
    this.postgres = postgres;
    this.redis = redis;
    this.backoff = backoff;
  }

  /**
   * Blocks until PostgreSQL answers and {@link LockstepSchema} is ensured, and Redis answers PING and
   * {@code redisson} has created a client; returns that client.
   *
   * @throws IllegalArgumentException at once, if either store is misconfigured
   * @throws InterruptedException when the calling thread is interrupted while it waits (the retries stop too)
   */
  public RedissonClient connect(Connections connections, RedisOptions redisOptions, Supplier<RedissonClient> redisson) throws Exception {
    ExecutorService threads = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "lockstep-store-startup");
      t.setDaemon(true);
      return t;
    });
    try {
      CompletableFuture<Void> schema = CompletableFuture.supplyAsync(() -> retried(postgres, StoreFailure::ofPostgres, () -> {
        try (Connection c = connections.open("lockstep-setup")) {
          LockstepSchema.ensure(c);
        }
        return null;
      }), threads);
      // Redisson's own creation retries for seconds before it gives up; a bare PING (to the primary a sentinel names, or
      // to a cluster node) tells at once, and says when the URL names the wrong thing.
      CompletableFuture<RedissonClient> client = CompletableFuture.supplyAsync(() -> retried(redis, StoreFailure::ofRedis, () -> {
        RedisProbe.check(redisOptions, REDIS_PROBE_TIMEOUT);
        return redisson.get();
      }), threads);
      // Whichever store fails for good ends the wait, without waiting for the other one to come back.
      CompletableFuture<Object> firstFailure = new CompletableFuture<>();
      schema.whenComplete((ok, e) -> failed(firstFailure, e));
      client.whenComplete((ok, e) -> failed(firstFailure, e));
      // get(), not join(): a coordinator stopped while it waits for its stores interrupts this thread.
      CompletableFuture.anyOf(CompletableFuture.allOf(schema, client), firstFailure).get();
      return client.join();
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause() instanceof CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
      throw cause instanceof Exception exception ? exception : e;
    } catch (CompletionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    } finally {
      threads.shutdownNow();
    }
  }

  private static void failed(CompletableFuture<Object> first, Throwable failure) {
    if (failure != null) {
      first.completeExceptionally(failure);
    }
  }

  private <T> T retried(StoreState state, Function<Throwable, StoreFailure> classify, Attempt<T> attempt) {
    for (int n = 1; ; n++) {
      long started = System.nanoTime();
      try {
        T result = attempt.run();
        state.reachable();
        return result;
      } catch (Exception e) {
        StoreFailure failure = classify.apply(e);
        switch (failure.kind()) {
          case MISCONFIGURED -> throw new IllegalArgumentException(state.store() + " at " + state.url() + " refused the coordinator: "
              + failure.cause() + "; a configuration error, not retried: " + failure.fix());
          case UNEXPECTED -> throw new CompletionException(e);
          case UNREACHABLE -> state.unreachable(failure.cause(),
              "retrying every ≤" + Durations.format(backoff.max()) + ", not ready");
        }
        // The outage itself is logged once (StoreState); each attempt only at DEBUG, for whoever watches the retries.
        log.debug("{} attempt {} failed ({}); next attempt {} after this one began", state.store(), n, failure.cause(),
            Durations.format(backoff.after(n)));
      }
      Duration pause = backoff.after(n).minusNanos(System.nanoTime() - started);
      if (!pause.isNegative()) {
        try {
          Thread.sleep(pause.toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new CompletionException(e);
        }
      }
    }
  }
}
