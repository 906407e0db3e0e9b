package dev.lockstep.coordinator.store;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The coordinator's stores against a test's own database, in the test's JVM: a Vert.x pool, {@link
 * ReleaseStore} and {@link MigrationSetStore} as {@code serve} wires them, and a clock the test sets, so
 * history with a known order is written in milliseconds instead of run release by release.
 *
 * <pre>{@code try (StoreHarness stores = new StoreHarness(db)) {
 *   stores.release("shop", Phase.COMPLETED, StoreHarness.set(Map.of("V1__a.sql", "SELECT 1;")));
 * }}</pre>
 */
public final class StoreHarness implements AutoCloseable {
  public final TestClock clock = new TestClock(Instant.parse("2030-01-01T00:00:00Z"));
  public final Vertx vertx = Vertx.vertx();
  public final Pool pool;
  public final ReleaseStore releases;
  public final MigrationSetStore sets;
  private final WorkerExecutor worker;
  private final AtomicInteger ids = new AtomicInteger();

  public StoreHarness(TestDatabase db) {
    try (Connection c = db.connect()) {
      LockstepSchema.ensure(c);
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException("cannot create the lockstep schema in " + db, e);
    }
    DatabaseUrl url = DatabaseUrl.parse(db.postgresUrl());
    PgConnectOptions connect = PoolConnectOptions.of(url, "lockstep-test");
    pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(4)).connectingTo(connect).using(vertx).build();
    worker = vertx.createSharedWorkerExecutor("test-migration-sets", 2);
    releases = new ReleaseStore(vertx, pool, clock);
    sets = new MigrationSetStore(pool, worker);
  }

  /** A set of file name → SQL text. */
  public static MigrationSet set(Map<String, String> files) {
    SortedMap<String, byte[]> bytes = new TreeMap<>();
    files.forEach((name, sql) -> bytes.put(name, sql.getBytes(StandardCharsets.UTF_8)));
    return MigrationSet.of("the test set", bytes);
  }

  /** Records a release of {@code service} in {@code phase} carrying {@code set}, created at the clock's time. */
  public ReleaseDocument release(String service, Phase phase, MigrationSet set) {
    return await(releases.create(document(service, phase, set), set));
  }

  /** A release document as {@code ReleaseService} makes one, not yet stored. */
  public ReleaseDocument document(String service, Phase phase, MigrationSet set) {
    String now = clock.instant().toString();
    return new ReleaseDocument.Builder().id("r-test-" + ids.incrementAndGet()).service(service).revision("v" + ids.get())
        .phase(phase).createdAt(now).updatedAt(now).migrationsDigest(set.digest()).build();
  }

  public static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    await(pool.close());
    worker.close();
    await(vertx.close());
  }

  /** A clock that moves one second each time it is read, and jumps where a test sets it. */
  public static final class TestClock extends Clock {
    private final AtomicReference<Instant> now;

    TestClock(Instant start) {
      now = new AtomicReference<>(start);
    }

    public void set(Instant instant) {
      now.set(instant);
    }

    @Override
    public Instant instant() {
      return now.getAndUpdate(t -> t.plusSeconds(1));
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }
}
