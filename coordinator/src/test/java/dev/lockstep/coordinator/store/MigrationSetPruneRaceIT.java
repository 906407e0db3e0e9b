package dev.lockstep.coordinator.store;

import static dev.lockstep.coordinator.store.StoreHarness.await;
import static dev.lockstep.coordinator.store.StoreHarness.set;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.PruneReport;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code lockstep prune} against releases being created at the same moment: a release that commits
 * refers to its set, and that set is there, whichever of the two transactions got to the set first.
 */
class MigrationSetPruneRaceIT {
  private static final String BASE = "CREATE TABLE account (id bigint PRIMARY KEY);\n";
  private static final int ROUNDS = 60;

  private static TestDatabase db;
  private static StoreHarness stores;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("MigrationSetPruneRaceIT");
    stores = new StoreHarness(db);
  }

  @AfterAll
  static void stop() {
    stores.close();
    db.close();
  }

  /**
   * A release whose transaction has stored its reference to an old set but not committed: a prune that
   * starts then waits for it, and then keeps the set, which is now the newest release's.
   */
  @Test
  void aPruneWaitsForAReleaseBeingCreatedAndKeepsTheSetItCarries() throws Exception {
    String service = "held";
    MigrationSet old = set(Map.of("V1__base.sql", BASE, "V2__old.sql", "SELECT 'old';"));
    stores.release(service, Phase.COMPLETED, old);
    stores.release(service, Phase.COMPLETED, set(Map.of("V1__base.sql", BASE, "V2__new.sql", "SELECT 'new';")));

    // What ReleaseStore.create does, in its order, with the commit held back; completes with its backend's pid.
    Promise<Void> commit = Promise.promise();
    Promise<Integer> inserted = Promise.promise();
    ReleaseDocument back = stores.document(service, Phase.COMPLETED, old);
    Future<Void> creating = stores.pool.withTransaction(conn -> MigrationSetStore.insert(conn, old)
        .compose(v -> conn.preparedQuery("INSERT INTO lockstep.releases (id, service, phase, document, created_at, updated_at)"
            + " VALUES ($1, $2, $3, $4::text::jsonb, $5, $5)").execute(Tuple.of(back.id(), service, back.phase().name(),
            Json.write(back), OffsetDateTime.ofInstant(stores.clock.instant(), ZoneOffset.UTC))))
        .compose(v -> conn.query("SELECT pg_backend_pid()").execute())
        .compose(pid -> {
          inserted.complete(pid.iterator().next().getInteger(0));
          return commit.future();
        }));
    int releasePid = await(inserted.future());

    Future<PruneReport> prune = stores.sets.prune(1, null, false);
    // Not a pause but the ordering itself: PostgreSQL shows the prune's backend queued for migration_sets in SHARE
    // ROW EXCLUSIVE mode behind the release's transaction. A prune that does not take that lock never shows up
    // here, and one that finishes first fails at once.
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
        .failFast("the prune completed while the release was being created, without waiting for it", prune::isComplete)
        .until(() -> db.queryLong("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            + " WHERE l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            + " AND l.relation = 'lockstep.migration_sets'::regclass AND l.mode = 'ShareRowExclusiveLock' AND NOT l.granted"
            + " AND a.wait_event_type = 'Lock' AND " + releasePid + " = ANY(pg_blocking_pids(l.pid))") == 1);
    assertThat(prune.isComplete()).as("the prune waits for the release being created (it completed: " + prune.result() + ")")
        .isFalse();
    commit.complete();
    await(creating);
    PruneReport report = await(prune);

    assertThat(report.pruned()).extracting(PruneReport.PrunedSet::digest).doesNotContain(old.digest());
    assertThat(await(stores.sets.load(old.digest(), back.id())).digest()).isEqualTo(old.digest());
  }

  /**
   * Many rounds of a release created at the moment a prune runs, each carrying a set the prune would
   * delete if it did not see the release: an old set (stored again as it is) or a new set that shares an
   * old set's only file. After each round the new release, its service's newest, must load its set.
   */
  @Test
  void pruneAndReleaseCreationRacingInALoopNeverLoseACommittedReleasesSet() {
    String service = "racing";
    int prunedUnderneath = 0;
    int keptForTheRelease = 0;
    for (int round = 0; round < ROUNDS; round++) {
      MigrationSet old = set(Map.of("V1__base.sql", BASE, "V2__round.sql", "SELECT " + round + ";"));
      stores.release(service, Phase.COMPLETED, old);
      stores.release(service, Phase.COMPLETED, set(Map.of("V1__base.sql", BASE, "V2__round.sql", "SELECT -" + round + ";")));
      // `old` is now no newest release's set, and its V2 file no other set's: both are what keep 1 prunes.
      MigrationSet carried = round % 2 == 0 ? old
          : set(Map.of("V1__base.sql", BASE, "V2__round.sql", "SELECT " + round + ";", "V3__more.sql", "SELECT 3;"));
      ReleaseDocument doc = stores.document(service, Phase.COMPLETED, carried);
      Future<PruneReport> prune;
      Future<ReleaseDocument> create;
      if (round % 4 < 2) {
        prune = stores.sets.prune(1, null, false);
        create = stores.releases.create(doc, carried);
      } else {
        create = stores.releases.create(doc, carried);
        prune = stores.sets.prune(1, null, false);
      }
      await(Future.join(prune, create));
      assertThat(create.succeeded()).as("round " + round + ": the release is created (" + create.cause() + ")").isTrue();
      assertThat(prune.succeeded()).as("round " + round + ": the prune succeeds (" + prune.cause() + ")").isTrue();
      if (prune.result().pruned().stream().anyMatch(p -> p.digest().equals(old.digest()))) {
        prunedUnderneath++;
      } else {
        keptForTheRelease++;
      }
      MigrationSet loaded = await(stores.sets.load(carried.digest(), doc.id()));
      assertThat(loaded.files()).as("round " + round + ": the new release's set, whole").isEqualTo(carried.files());
    }
    System.out.printf("PRUNE-RACE %d rounds: the prune went first (and the release stored its set again) %d times,"
        + " the release went first (and the prune kept its set) %d times%n", ROUNDS, prunedUnderneath, keptForTheRelease);
  }
}
