package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The safety model's hardest case, with real processes: the coordinator running a release is
 * paused (SIGSTOP) in the middle of its migration transaction, keeping its connections and locks.
 * A standby coordinator takes the service over: it wins the Redis lock once the paused one's lease
 * runs out, bumps the epoch in PostgreSQL, terminates the paused one's sessions (rolling its
 * migration back), and completes the release. When the paused coordinator wakes, PostgreSQL
 * rejects it: the migration is applied exactly once and the release stays as the standby left it.
 */
class FencedTakeoverIT {
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("FencedTakeoverIT");
    fleet = new Fleet("FencedTakeoverIT", db);
    fleet.startCoordinator(fleet.migrations("slow"));
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void aPausedCoordinatorIsFencedOutAndTheStandbyFinishesTheReleaseOnce() throws Exception {
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> db.queryLong(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'"
            + " AND application_name LIKE 'lockstep-migrate/%' AND query LIKE '%pg_sleep(4)%'") > 0);
    Process paused = fleet.coordinator();
    Fleet.signal(paused.pid(), "STOP");

    Process standby = fleet.startStandbyCoordinator("standby.log").process();
    ReleaseDocument end = await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(
        () -> db.queryLong("SELECT count(*) FROM lockstep.releases WHERE id = '" + started.id() + "' AND phase = 'COMPLETED'") == 1
            ? started : null, d -> d != null);
    long epochAfterTakeover = db.queryLong("SELECT epoch FROM lockstep.fence WHERE service = '" + fleet.service + "'");
    assertThat(epochAfterTakeover).isEqualTo(2);

    Fleet.signal(paused.pid(), "CONT");
    // The woken coordinator finds its migration connection dead and every write refused by the fence.
    await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(fleet.dir.resolve("coordinator.log"))
        .contains("fenced out of service " + fleet.service));

    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '2'")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'ledger_summary'")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.releases WHERE id = '" + end.id() + "' AND phase = 'COMPLETED'"
        + " AND (document->>'epoch')::bigint = 2")).isEqualTo(1);
    assertThat(db.queryLong("SELECT epoch FROM lockstep.fence WHERE service = '" + fleet.service + "'")).isEqualTo(2);
    assertThat(Files.readString(fleet.dir.resolve("standby.log"))).contains("resuming release " + started.id());
    standby.destroy();
  }
}
