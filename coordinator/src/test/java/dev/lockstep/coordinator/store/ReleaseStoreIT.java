package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseRole;
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
import java.util.ArrayList;
import java.util.List;
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
      await(store.advance(at(planned, Phase.PREFLIGHT), java.util.List.of(), Phase.PLANNED, epoch, "to preflight", null));

      // A run that still believes the release is PLANNED (it read it before waiting for the lock) is refused.
      Throwable stale = catchThrowable(() -> await(store.advance(at(planned, Phase.PREFLIGHT), java.util.List.of(), Phase.PLANNED, epoch, "again", null)));
      assertThat(stale).isInstanceOfSatisfying(LockstepException.class, e -> {
        assertThat(e.code()).isEqualTo(LockstepException.Code.FENCED);
        assertThat(e).hasMessageContaining("no longer PLANNED");
      });

      await(store.advance(at(planned, Phase.COMPLETED), java.util.List.of(), Phase.PREFLIGHT, epoch, "done", null));
      // Not even a write that names the terminal phase as expected may change it.
      Throwable afterEnd = catchThrowable(() -> await(store.advance(at(planned, Phase.PREPARING), java.util.List.of(), Phase.COMPLETED, epoch,
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
      await(store.advance(at(planned, Phase.PREPARING), java.util.List.of(), Phase.PLANNED, epoch, "to preparing", null));
      await(store.requestAbort("r-enter-1", "alice", "127.0.0.1"));
      assertThat(await(store.enterMigrating(at(planned, Phase.MIGRATING), java.util.List.of(), epoch, "migrating"))).as("abort first").isFalse();
      await(store.advance(at(planned, Phase.ABORTED), java.util.List.of(), Phase.PREPARING, epoch, "aborted", null));
      Throwable moved = catchThrowable(() -> await(store.enterMigrating(at(planned, Phase.MIGRATING), java.util.List.of(), epoch, "migrating")));
      assertThat(moved).isInstanceOfSatisfying(LockstepException.class,
          e -> assertThat(e.code()).isEqualTo(LockstepException.Code.FENCED));
    }
    assertThat(await(store.get("r-enter-1")).orElseThrow().phase()).isEqualTo(Phase.ABORTED);
  }

  @Test
  void eachParticipantIsARowAndARoundWritesOnlyTheAgentsThatMoved() throws Exception {
    ReleaseDocument planned = release("rows", "r-rows-1");
    await(store.create(planned, MigrationSet.of("test", new TreeMap<>(Map.of("V1__a.sql", "CREATE TABLE a (id int);".getBytes())))));
    try (Fence.Held held = Fence.acquire(db.connect(), "rows", "test")) {
      long epoch = held.epoch();
      // Ids not in sorted order, as a participant list with late arrivals appended is: the order is kept.
      List<ReleaseAgent> fleet = new ArrayList<>();
      for (int i = 0; i < 5000; i++) {
        fleet.add(new ReleaseAgent("web-" + ((i * 7919) % 5000), AgentState.PREPARING, null, null, null));
      }
      ReleaseDocument preparing = at(planned, Phase.PREPARING).toBuilder().agents(fleet).build();
      await(store.advance(preparing, List.of(), Phase.PLANNED, epoch, "to preparing", null));
      assertThat(db.queryLong("SELECT count(*) FROM lockstep.release_agents WHERE release_id = 'r-rows-1'")).isEqualTo(5000);
      assertThat(db.queryLong("SELECT octet_length(document::text) FROM lockstep.releases WHERE id = 'r-rows-1'"))
          .as("the releases row does not carry the fleet").isLessThan(2000);

      List<ReleaseAgent> moved = new ArrayList<>(fleet);
      moved.set(17, new ReleaseAgent(fleet.get(17).id(), AgentState.PREPARED, "abc", null, null));
      moved.add(new ReleaseAgent("late-pod", AgentState.PREPARING, null, null, null, ReleaseRole.NEW));
      long xminBefore = db.queryLong("SELECT count(*) FROM lockstep.release_agents WHERE release_id = 'r-rows-1'"
          + " AND xmin::text = (SELECT xmin::text FROM lockstep.release_agents WHERE release_id = 'r-rows-1' AND agent_id = 'web-0')");
      await(store.advance(preparing.toBuilder().agents(moved).build(), fleet, Phase.PREPARING, epoch, "one prepared", null));

      assertThat(db.queryLong("SELECT count(*) FROM lockstep.release_agents WHERE release_id = 'r-rows-1'"
          + " AND xmin::text = (SELECT xmin::text FROM lockstep.release_agents WHERE release_id = 'r-rows-1' AND agent_id = 'late-pod')"))
          .as("rows written by the second round: the one that moved and the one that joined").isEqualTo(2);
      assertThat(xminBefore).as("the first round wrote every row").isEqualTo(5000);
      ReleaseDocument read = await(store.get("r-rows-1")).orElseThrow();
      assertThat(read.agents()).as("read back whole, in the participants' order").isEqualTo(moved);
      assertThat(await(store.active("rows")).orElseThrow().agents()).isEqualTo(moved);
      assertThat(Json.read(db.queryText("SELECT lockstep.release_document(r)::text FROM lockstep.releases r"
          + " WHERE id = 'r-rows-1'"), ReleaseDocument.class).agents()).hasSize(5001);
    }
  }

  @Test
  void aReleaseStoredWithItsAgentsInTheDocumentIsMovedToRowsAtStartUp() throws Exception {
    String old = "{\"id\":\"r-old-1\",\"service\":\"old\",\"revision\":\"v1\",\"phase\":\"COMPLETED\","
        + "\"agents\":[{\"id\":\"b\",\"state\":\"switched\"},{\"id\":\"a\",\"state\":\"switched\"}]}";
    db.execute("INSERT INTO lockstep.releases (id, service, phase, document) VALUES ('r-old-1', 'old', 'COMPLETED', '"
        + old + "')");
    // A schema made by a coordinator before the rows existed carried no version in its comment.
    db.execute("COMMENT ON SCHEMA lockstep IS NULL");
    try (Connection c = db.connect()) {
      assertThat(LockstepSchema.ensure(c)).as("the DDL ran").isTrue();
    }
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.releases WHERE document ? 'agents'")).isZero();
    assertThat(await(store.get("r-old-1")).orElseThrow().agents()).extracting(ReleaseAgent::id).containsExactly("b", "a");
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
