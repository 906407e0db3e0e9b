package dev.lockstep.coordinator.store;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.config.RedisUrl;
import dev.lockstep.protocol.Durations;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether one store answers, as start-up and the health checks last saw it, since when, and why
 * not. Thread-safe. Each outage is logged twice at most: one line when it begins and one when it
 * ends, however often it is seen in between.
 *
 * <pre>{@code
 * StoreState postgres = StoreState.postgres(config.database(), clock);
 * postgres.unreachable("Connection refused", "retrying every ≤10s, not ready"); // logs the outage once
 * postgres.reachable();                                                      // logs its end
 * }</pre>
 */
public final class StoreState {
  private static final Logger log = LoggerFactory.getLogger(StoreState.class);

  /** {@code CONNECTING} until the first attempt ends. */
  public enum Status { CONNECTING, REACHABLE, UNREACHABLE }

  /** The store as last seen: its status since {@code since}; {@code cause} is why it is unreachable, else null. */
  public record Seen(Status status, Instant since, String cause) {
    public boolean reachable() {
      return status == Status.REACHABLE;
    }

    /** {@code ok}, {@code connecting} or {@code down: <cause>}: the store's field in {@code /health}. */
    public String summary() {
      return switch (status) {
        case REACHABLE -> "ok";
        case CONNECTING -> "connecting";
        case UNREACHABLE -> "down: " + cause;
      };
    }
  }

  private final String store;
  private final String url;
  private final Clock clock;
  private final AtomicReference<Seen> seen;

  /** {@code store} as people name it ("PostgreSQL"), {@code url} as it may be shown (no password). */
  public StoreState(String store, String url, Clock clock) {
    this.store = store;
    this.url = url;
    this.clock = clock;
    this.seen = new AtomicReference<>(new Seen(Status.CONNECTING, clock.instant(), null));
  }

  public static StoreState postgres(DatabaseUrl database, Clock clock) {
    return new StoreState("PostgreSQL", database.toString(), clock);
  }

  public static StoreState redis(RedisUrl redis, Clock clock) {
    return new StoreState("Redis", redis.toString(), clock);
  }

  public String store() {
    return store;
  }

  /** The store's URL without its password. */
  public String url() {
    return url;
  }

  public Seen seen() {
    return seen.get();
  }

  /**
   * Records that the store did not answer. The first time in an outage it logs one line naming the
   * store, its URL, {@code cause} and {@code next} (what the coordinator does about it).
   */
  public void unreachable(String cause, String next) {
    Instant now = clock.instant();
    Seen before = seen.getAndUpdate(s -> new Seen(Status.UNREACHABLE, s.status() == Status.UNREACHABLE ? s.since() : now, cause));
    if (before.status() != Status.UNREACHABLE) {
      log.warn("{} at {} unreachable ({}); {}", store, url, cause, next);
    }
  }

  /** Records that the store answered; logs the end of an outage, if there was one. */
  public void reachable() {
    Instant now = clock.instant();
    Seen before = seen.getAndUpdate(s -> s.status() == Status.REACHABLE ? s : new Seen(Status.REACHABLE, now, null));
    if (before.status() == Status.UNREACHABLE) {
      log.info("{} at {} reachable again after {}", store, url, Durations.format(Duration.between(before.since(), now)));
    }
  }
}
