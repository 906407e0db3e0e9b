package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.sql.Connection;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every write of a run is a fenced compare-and-set on the phase: a run that resumed from a stale read
 * cannot walk a release back, and nothing leaves a terminal phase, whatever epoch it holds.
 */
class ReleaseStoreIT {
  private static TestDatabase db;
  private static Vertx vertx;
  private static Pool pool;
  private static ReleaseStore store;

  @BeforeAll
  static void start() throws Exception {
    db = TestPostgres.instance().createDatabase("ReleaseStoreIT");
    try (Connection c = db.connect()) {
      LockstepSchema.ensure(c);
    }
    vertx = Vertx.vertx();
    pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(db.postgresUrl())).using(vertx).build();
    store = new ReleaseStore(vertx, pool, Clock.systemUTC());
  }

  @AfterAll
  static void stop() {
    pool.close();
    vertx.close();
    db.close();
  }

  @Test
  void aWriteLandsOnlyWhileTheReleaseIsAtTheExpectedPhaseAndNeverLeavesATerminalOne() throws Exception {
    ReleaseDocument planned = release("cas", "r-cas-1");
    await(store.create(planned, MigrationSet.of("test", new TreeMap<>(Map.of("V1__a.sql", "CREATE TABLE a (id int);".getBytes())))));
    long epoch;
    try (Fence.Held held = Fence.acquire(db.connect(), "cas", "test")) {
      epoch = held.epoch();
      await(store.advance(at(planned, Phase.PREFLIGHT), Phase.PLANNED, epoch, "to preflight", null));

      // A run that still believes the release is PLANNED (it read it before waiting for the lock) is refused.
      Throwable stale = catchThrowable(() -> await(store.advance(at(planned, Phase.PREFLIGHT), Phase.PLANNED, epoch, "again", null)));
      assertThat(stale).isInstanceOfSatisfying(LockstepException.class, e -> {
        assertThat(e.code()).isEqualTo(LockstepException.Code.FENCED);
        assertThat(e).hasMessageContaining("no longer PLANNED");
      });

      await(store.advance(at(planned, Phase.COMPLETED), Phase.PREFLIGHT, epoch, "done", null));
      // Not even a write that names the terminal phase as expected may change it.
      Throwable afterEnd = catchThrowable(() -> await(store.advance(at(planned, Phase.PREPARING), Phase.COMPLETED, epoch,
          "walk it again", null)));
      assertThat(afterEnd).isInstanceOf(LockstepException.class);
    }
    assertThat(await(store.get("r-cas-1")).orElseThrow().phase()).isEqualTo(Phase.COMPLETED);
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.release_events WHERE release_id = 'r-cas-1'"
        + " AND message IN ('again', 'walk it again')")).as("a refused write leaves no event").isZero();
  }

  @Test
  void enteringMigratingIsRefusedOnceTheReleaseMovedOnAndReportsAnAbortOtherwise() throws Exception {
    ReleaseDocument planned = release("enter", "r-enter-1");
    await(store.create(planned, MigrationSet.of("test", new TreeMap<>(Map.of("V1__a.sql", "CREATE TABLE a (id int);".getBytes())))));
    try (Fence.Held held = Fence.acquire(db.connect(), "enter", "test")) {
      long epoch = held.epoch();
      await(store.advance(at(planned, Phase.PREPARING), Phase.PLANNED, epoch, "to preparing", null));
      await(store.requestAbort("r-enter-1", "alice", "127.0.0.1"));
      assertThat(await(store.enterMigrating(at(planned, Phase.MIGRATING), epoch, "migrating"))).as("abort first").isFalse();
      await(store.advance(at(planned, Phase.ABORTED), Phase.PREPARING, epoch, "aborted", null));
      Throwable moved = catchThrowable(() -> await(store.enterMigrating(at(planned, Phase.MIGRATING), epoch, "migrating")));
      assertThat(moved).isInstanceOfSatisfying(LockstepException.class,
          e -> assertThat(e.code()).isEqualTo(LockstepException.Code.FENCED));
    }
    assertThat(await(store.get("r-enter-1")).orElseThrow().phase()).isEqualTo(Phase.ABORTED);
  }

  private static ReleaseDocument release(String service, String id) {
    String now = Instant.now().toString();
    return new ReleaseDocument.Builder().id(id).service(service).revision("v1").schema("1").phase(Phase.PLANNED)
        .createdAt(now).updatedAt(now).build();
  }

  private static ReleaseDocument at(ReleaseDocument doc, Phase phase) {
    return doc.toBuilder().phase(phase).build();
  }

  private static <T> T await(Future<T> future) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
  }
}
