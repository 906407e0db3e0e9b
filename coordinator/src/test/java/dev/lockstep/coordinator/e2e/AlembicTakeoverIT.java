package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The fenced takeover of {@code FencedTakeoverIT}, with Alembic: the coordinator running a release and its
 * {@code alembic} child are paused (SIGSTOP) while a slow revision runs inside the migration's transaction. A standby
 * takes over: it bumps the epoch, terminates the paused run's sessions (rolling its transaction back), and applies the
 * revisions itself. When the paused processes wake, the old run is fenced out; every revision is applied once.
 * (That a stale alembic that still reaches its version-table write is refused there, by the trigger, is
 * {@code AlembicEngineIT#aStaleEpochIsRefusedByTheTriggerInTheMigrationsOwnTransaction}.)
 */
class AlembicTakeoverIT {
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path project;

  @BeforeAll
  static void start() throws Exception {
    db = TestPostgres.instance().createDatabase("AlembicTakeoverIT");
    fleet = new Fleet("AlembicTakeoverIT", db);
    project = slowProject(fleet);
    fleet.startCoordinator(null, "--engine", "alembic", "--alembic-config", project.resolve("alembic.ini").toString());
    // No agent: agents report to the coordinator they were given, which is paused here (as in FencedTakeoverIT).
  }

  /** The shop project plus d4, which sleeps 4 s inside the migration's transaction before it creates a table. */
  private static Path slowProject(Fleet fleet) throws Exception {
    Path project = fleet.project("alembic/shop");
    Path versions = project.resolve("migrations/versions");
    Files.writeString(versions.resolve("d4e5f6a7b8c9_ledger.py"), AlembicReleaseIT.revision("d4e5f6a7b8c9", "c3d4e5f6a7b8",
        "a slow ledger", "    op.execute('SELECT pg_sleep(4)')\n"
            + "    op.create_table('ledger', sa.Column('id', sa.Integer, primary_key=True))\n"));
    return project;
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void aPausedAlembicRunIsFencedOutAndTheStandbyAppliesEveryRevisionOnce() throws Exception {
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> db.queryLong(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'"
            + " AND application_name = 'lockstep-migrate/" + fleet.service + "' AND query LIKE '%pg_sleep(4)%'") > 0);
    Process paused = fleet.coordinator();
    List<ProcessHandle> children = paused.descendants().toList();
    assertThat(children).as("the coordinator runs alembic as a child").isNotEmpty();
    Fleet.signal(paused.pid(), "STOP");
    for (ProcessHandle child : children) {
      Fleet.signal(child.pid(), "STOP");
    }

    Process standby = fleet.startStandbyCoordinator("standby.log").process();
    await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> db.queryLong(
        "SELECT count(*) FROM lockstep.releases WHERE id = '" + started.id() + "' AND phase = 'COMPLETED'") == 1);
    assertThat(db.queryLong("SELECT epoch FROM lockstep.fence WHERE service = '" + fleet.service + "'")).isEqualTo(2);

    for (ProcessHandle child : children) {
      Fleet.signal(child.pid(), "CONT");
    }
    Fleet.signal(paused.pid(), "CONT");
    await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(fleet.dir.resolve("coordinator.log"))
        .contains("fenced out of service " + fleet.service));

    ReleaseDocument end = Json.read(db.queryText("SELECT lockstep.release_document(r)::text FROM lockstep.releases r WHERE id = '"
        + started.id() + "'"), ReleaseDocument.class);
    assertThat(end.epoch()).isEqualTo(2);
    assertThat(end.applied()).extracting(a -> a.version())
        .containsExactly("a1b2c3d4e5f6", "b2c3d4e5f6a7", "c3d4e5f6a7b8", "d4e5f6a7b8c9");
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("d4e5f6a7b8c9");
    assertThat(db.queryLong("SELECT count(*) FROM alembic_version")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM \"user\"")).as("the data revision's rows, once").isEqualTo(2);
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'ledger'")).isEqualTo(1);
    assertThat(Files.readString(fleet.dir.resolve("standby.log"))).contains("resuming release " + started.id());
    standby.destroy();
  }

  /**
   * kill -9 of the coordinator mid-revision: its alembic child is not killed with it and runs on, an orphan in the
   * middle of the migration's transaction. Whether it commits before the standby's takeover or is terminated by it,
   * every revision ends applied exactly once.
   */
  @Test
  void aKilledCoordinatorsOrphanedAlembicCannotApplyARevisionTwice() throws Exception {
    try (TestDatabase killDb = TestPostgres.instance().createDatabase("AlembicTakeoverIT_kill");
         Fleet killFleet = new Fleet("AlembicTakeoverIT-kill", killDb)) {
      Path slow = slowProject(killFleet);
      killFleet.startCoordinator(null, "--engine", "alembic", "--alembic-config", slow.resolve("alembic.ini").toString());
      ReleaseDocument started = killFleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> killDb.queryLong(
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'"
              + " AND application_name = 'lockstep-migrate/" + killFleet.service + "' AND query LIKE '%pg_sleep(4)%'") > 0);
      Process killed = killFleet.coordinator();
      List<ProcessHandle> children = killed.descendants().toList();
      killed.destroyForcibly();
      killed.waitFor();
      assertThat(children).as("the alembic child outlives the coordinator").anyMatch(ProcessHandle::isAlive);

      Process standby = killFleet.startStandbyCoordinator("standby.log").process();
      await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> killDb.queryLong(
          "SELECT count(*) FROM lockstep.releases WHERE id = '" + started.id() + "' AND phase = 'COMPLETED'") == 1);
      await().atMost(Duration.ofSeconds(30)).until(() -> children.stream().noneMatch(ProcessHandle::isAlive));

      assertThat(killDb.queryText("SELECT version_num FROM alembic_version")).isEqualTo("d4e5f6a7b8c9");
      assertThat(killDb.queryLong("SELECT count(*) FROM alembic_version")).isEqualTo(1);
      assertThat(killDb.queryLong("SELECT count(*) FROM \"user\"")).as("the data revision's rows, once").isEqualTo(2);
      assertThat(killDb.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'ledger'")).isEqualTo(1);
      assertThat(killDb.queryLong("SELECT epoch FROM lockstep.fence WHERE service = '" + killFleet.service + "'"))
          .isEqualTo(2);
      standby.destroy();
    }
  }
}
