package dev.lockstep.coordinator.lock;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.redisson.api.RLock;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redisson lock that elects which coordinator runs a service's release. It only avoids
 * duplicate work: Redis replication is asynchronous, so safety comes from the {@link Fence} in
 * PostgreSQL. Redisson locks belong to a thread id; Vert.x callbacks hop threads, so each lock
 * holder uses an explicit owner id of its own.
 *
 * <pre>{@code ServiceLock lock = new ServiceLock(vertx, redisson, "app");
 * lock.acquire(Duration.ofSeconds(10)).compose(won -> ...).eventually(lock::release);}</pre>
 */
public final class ServiceLock {
  private static final Logger log = LoggerFactory.getLogger(ServiceLock.class);

  /** Makes the lock of any service, for a coordinator that runs releases. */
  public record Factory(Vertx vertx, RedissonClient redisson) {
    public ServiceLock of(String service) {
      return new ServiceLock(vertx, redisson, service);
    }
  }

  private final Vertx vertx;
  private final RLock lock;
  private final String service;
  private final long ownerId = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);

  public ServiceLock(Vertx vertx, RedissonClient redisson, String service) {
    this.vertx = vertx;
    this.service = service;
    this.lock = redisson.getLock("lockstep:lock:" + service);
  }

  /**
   * Waits up to {@code wait} for the lock. No lease time is given, so Redisson's watchdog keeps it
   * while this process lives and lets it go one watchdog timeout ({@code --lock-lease}) after the
   * process dies or pauses.
   */
  public Future<Boolean> acquire(Duration wait) {
    return Future.fromCompletionStage(
        lock.tryLockAsync(wait.toMillis(), -1, TimeUnit.MILLISECONDS, ownerId), vertx.getOrCreateContext());
  }

  public Future<Void> release() {
    return Future.fromCompletionStage(lock.unlockAsync(ownerId), vertx.getOrCreateContext())
        .onFailure(e -> log.warn("could not release the Redis lock of service {} ({}); it expires by itself", service,
            e.getMessage()))
        .otherwiseEmpty();
  }
}
