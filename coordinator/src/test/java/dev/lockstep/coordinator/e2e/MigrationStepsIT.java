package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * How migrations meet a live database: a migration blocked by another session's lock gives up at
 * {@code lock_timeout} and is retried, instead of queueing every query behind it; a release with a
 * non-transactional migration runs in steps, and when a later step fails the release names the
 * version the database is at and, in maintenance mode, the agents hold instead of going back.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MigrationStepsIT {
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path migrations;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("MigrationStepsIT");
    fleet = new Fleet("MigrationStepsIT", db);
    migrations = fleet.migrations("modes");
    fleet.startCoordinator(migrations, "--lock-timeout", "1s");
    fleet.startSlowAgent("s-1", "v0", migrations, "sleep 2 && ");
    fleet.startAgent("s-2", "v0", migrations);
    fleet.awaitAgents("s-1", "s-2");
    assertThat(fleet.cli("release", "--revision", "v1").exit()).isZero();
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
    db.close();
  }

  private static ReleaseDocument release(String id) {
    return fleet.api().get("/v1/releases/" + id, ReleaseDocument.class);
  }

  @Test
  @Order(1)
  void aMigrationBlockedByALongTransactionGivesUpAtLockTimeoutAndIsRetried() throws Exception {
    Files.writeString(migrations.resolve("V2__add_plan.sql"), "ALTER TABLE accounts ADD COLUMN plan text;");
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v2", null), ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(20)).until(() -> release(started.id()).phase() == Phase.PREPARING);
    try (Connection holder = db.connect(); Statement s = holder.createStatement()) {
      holder.setAutoCommit(false);
      s.execute("LOCK TABLE accounts IN ACCESS SHARE MODE"); // what a long report query holds
      await().atMost(Duration.ofSeconds(30)).until(() -> db.queryLong("SELECT count(*) FROM lockstep.release_events"
          + " WHERE release_id = '" + started.id() + "' AND message LIKE '%could not get its lock%'") > 0);
      holder.commit();
    }
    ReleaseDocument end = await().atMost(Duration.ofSeconds(30)).until(() -> release(started.id()), d -> d.phase().isTerminal());
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.release_events WHERE release_id = '" + started.id()
        + "' AND message LIKE '%retry 2/3%'")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'plan'"))
        .isEqualTo(1);
  }

  @Test
  @Order(2)
  void aNonAtomicMaintenanceReleaseThatFailsPartWayNamesTheVersionAndTheAgentsHold() throws Exception {
    Files.writeString(migrations.resolve("V3__index_email.sql"), "CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);");
    Files.writeString(migrations.resolve("V4__unique_email.sql"),
        "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE USING INDEX accounts_email;");
    int before = fleet.hookLines().size();

    Fleet.CliRun run = fleet.cli("release", "--revision", "v3", "--json");
    assertThat(run.exit()).isEqualTo(1);
    ReleaseDocument doc = Json.read(run.out(), ReleaseDocument.class);
    assertThat(doc.mode()).isEqualTo(Mode.MAINTENANCE);
    assertThat(doc.modeReason()).contains("V3 (index email) cannot run in a transaction and was not rehearsed");
    assertThat(doc.findings()).anyMatch(f -> f.rule().equals("non-transactional") && f.message().contains("not atomic"));
    assertThat(doc.phase()).isEqualTo(Phase.FAILED);
    assertThat(doc.reason()).contains("V4 (unique email) failed").contains("is not a unique index")
        .contains("database is now at version 3").contains("Agents hold");
    assertThat(doc.applied()).extracting(a -> a.version()).containsExactly("3");
    assertThat(db.queryLong("SELECT count(*) FROM pg_indexes WHERE indexname = 'accounts_email'")).isEqualTo(1);

    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(fleet.agentList())
        .extracting(AgentStatus::state).containsOnly(AgentState.HOLDING));
    assertThat(fleet.hookLines().subList(before, fleet.hookLines().size()))
        .noneMatch(l -> l.contains(" abort ")).noneMatch(l -> l.contains(" switch "));

    // Fix forward: the operator replaces the broken migration and releases again; the holding agents follow.
    Files.delete(migrations.resolve("V4__unique_email.sql"));
    Files.writeString(migrations.resolve("V4__note.sql"), "ALTER TABLE accounts ADD COLUMN note text;");
    Fleet.CliRun fixed = fleet.cli("release", "--revision", "v3", "--json");
    assertThat(fixed.exit()).as(fixed.out() + fixed.err()).isZero();
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(fleet.agentList())
        .allSatisfy(a -> assertThat(a.revision()).isEqualTo("v3")));
  }
}
