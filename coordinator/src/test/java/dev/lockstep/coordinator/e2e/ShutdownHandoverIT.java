package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM hands a running release over (DESIGN.md, "Shutdown"): the coordinator stops at a safe
 * point, records it, lets go of its lock and fence at once and exits, and the other instance resumes
 * the release within seconds — not after the lock's lease, as after {@code kill -9}. Once while the
 * fleet prepares, once while a migration runs (the step finishes first, then the handover).
 */
class ShutdownHandoverIT {
  private static TestDatabase db;
  private static Fleet fleet;
  private static Fleet.Standby standby;
  private static Path migrations;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("ShutdownHandoverIT");
    fleet = new Fleet("ShutdownHandoverIT", db);
    migrations = fleet.folder("migrations", Map.of("V1__accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY);"));
    // A lease far longer than the handover, so a takeover in seconds can only come from the handover itself.
    fleet.startCoordinator(migrations, "--orphan-scan", "1s", "--lock-lease", "20s");
    standby = fleet.startStandbyCoordinator("standby.log");
    fleet.agentsUse(fleet.url(), standby.url());
    fleet.startSlowAgent("h-1", "v0", migrations, "sleep 4 && ");
    fleet.startAgent("h-2", "v0", migrations);
    fleet.awaitAgents("h-1", "h-2");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void sigtermHandsTheReleaseOverInSecondsWhileTheFleetPreparesAndWhileAMigrationRuns() throws Exception {
    // 1. SIGTERM of the coordinator running the release while the fleet prepares.
    ReleaseDocument first = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(20)).until(() -> phase(first.id()) == Phase.PREPARING);
    long signalled = System.nanoTime();
    Fleet.signal(fleet.coordinator().pid(), "TERM");
    assertThat(fleet.coordinator().waitFor(20, TimeUnit.SECONDS)).as("the coordinator exits after handing over").isTrue();
    double exited = seconds(signalled);
    await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
        .until(() -> count(first.id(), "PREPARING: coordinator % resumed the release%") == 1);
    double resumed = seconds(signalled);
    ReleaseDocument end = awaitEnd(standby.api(), first.id());
    System.out.printf("HANDOVER PREPARING: primary exited %.1f s after SIGTERM, standby resumed %.1f s after%n", exited, resumed);
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(count(first.id(), "PREPARING: coordinator % is shutting down; handed the release over%")).isEqualTo(1);
    assertThat(resumed).as("resumed in seconds, well inside the 20 s lease").isLessThan(10);
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE success")).isEqualTo(1);
    assertThat(Files.readString(fleet.dir.resolve("coordinator.log"))).contains("coordinator handed over in");

    // 2. The old primary comes back as the standby; SIGTERM of the instance now running a release in MIGRATING.
    fleet.restartCoordinator();
    Files.writeString(migrations.resolve("V2__slow.sql"), "CREATE TABLE audits (id bigint PRIMARY KEY);\nSELECT pg_sleep(5);\n");
    ReleaseDocument second = standby.api().post("/v1/releases", ReleaseRequest.of("v2", null), ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .until(() -> standby.api().get("/v1/releases/" + second.id(), ReleaseDocument.class).phase() == Phase.MIGRATING);
    signalled = System.nanoTime();
    Fleet.signal(standby.process().pid(), "TERM");
    assertThat(standby.process().waitFor(40, TimeUnit.SECONDS)).isTrue();
    exited = seconds(signalled);
    ReleaseDocument second2 = awaitEnd(fleet.api(), second.id());
    System.out.printf("HANDOVER MIGRATING: the step finished, then the coordinator exited %.1f s after SIGTERM%n", exited);
    assertThat(second2.phase()).as(second2.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(count(second.id(), "SWITCHING: coordinator % is shutting down; handed the release over%"))
        .as("the running migration finished and the handover came at the next safe point").isEqualTo(1);
    assertThat(count(second.id(), "SWITCHING: coordinator % resumed the release%")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE success AND version = '2'")).isEqualTo(1);
    // This test's database only: the suite's other test JVM runs its own coordinators meanwhile.
    assertThat(db.queryLong("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'lockstep%'"
        + " AND state = 'idle in transaction' AND datname = current_database()")).isZero();
  }

  private static Phase phase(String id) {
    return fleet.api().get("/v1/releases/" + id, ReleaseDocument.class).phase();
  }

  private static ReleaseDocument awaitEnd(dev.lockstep.coordinator.cli.ApiClient api, String id) {
    return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> api.get("/v1/releases/" + id, ReleaseDocument.class), d -> d.phase().isTerminal());
  }

  private static long count(String id, String like) {
    return db.queryLong("SELECT count(*) FROM lockstep.release_events WHERE release_id = '" + id + "' AND message LIKE '"
        + like + "'");
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }
}
