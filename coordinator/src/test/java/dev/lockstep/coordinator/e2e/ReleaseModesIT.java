package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Release modes with real agents: a migration that would fail is caught by the rehearsal before
 * any server is prepared; a dropped column runs in maintenance mode, with every prepare hook done
 * before the migration starts and every switch hook after it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReleaseModesIT {
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path migrations;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("ReleaseModesIT");
    fleet = new Fleet("ReleaseModesIT", db);
    migrations = fleet.migrations("modes");
    fleet.startCoordinator(migrations);
    fleet.startAgent("m-1", "v0", migrations);
    fleet.startAgent("m-2", "v0", migrations);
    fleet.awaitAgents("m-1", "m-2");
    assertThat(fleet.cli("release", "--revision", "v1").exit()).isZero();
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
    db.close();
  }

  @Test
  @Order(1)
  void aMigrationThatWouldFailAbortsInPreflightBeforeAnyServerIsTouched() throws Exception {
    Files.writeString(migrations.resolve("V2__broken.sql"), "ALTER TABLE accounts ADD COLUMN plan text NOT NULL REFERENCES plans (id);");
    int before = fleet.hookLines().size();
    Fleet.CliRun run = fleet.cli("release", "--revision", "v2", "--json");
    assertThat(run.exit()).isEqualTo(1);
    ReleaseDocument doc = Json.read(run.out(), ReleaseDocument.class);
    assertThat(doc.phase()).isEqualTo(Phase.ABORTED);
    assertThat(doc.reason()).contains("migration V2 (broken) would fail").contains("relation \"plans\" does not exist");
    assertThat(doc.agents()).as("no agent was asked to prepare").isEmpty();
    assertThat(fleet.hookLines().subList(before, fleet.hookLines().size())).isEmpty();
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '2'")).isZero();
    Files.delete(migrations.resolve("V2__broken.sql"));
  }

  @Test
  @Order(2)
  void aDroppedColumnRunsInMaintenanceWithPrepareBeforeAndSwitchAfterTheMigration() throws Exception {
    Files.writeString(migrations.resolve("V2__drop_legacy.sql"), "ALTER TABLE accounts DROP COLUMN legacy;");

    Fleet.CliRun guarded = fleet.cli("release", "--revision", "v2", "--json");
    assertThat(guarded.exit()).isEqualTo(1);
    assertThat(Json.read(guarded.out(), ReleaseDocument.class).reason())
        .contains("column public.accounts.legacy, which holds 1 non-NULL value(s)").contains("--allow-data-loss");

    int before = fleet.hookLines().size();
    Fleet.CliRun run = fleet.cli("release", "--revision", "v2", "--allow-data-loss", "--json");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    ReleaseDocument doc = Json.read(run.out(), ReleaseDocument.class);
    assertThat(doc.mode()).isEqualTo(Mode.MAINTENANCE);
    assertThat(doc.modeReason()).contains("V2 (drop legacy) drops column public.accounts.legacy");

    List<String> lines = fleet.hookLines().subList(before, fleet.hookLines().size());
    assertThat(lines).allMatch(l -> l.endsWith(" maintenance"));
    long lastPrepare = lines.stream().filter(l -> l.contains(" prepare ")).mapToLong(ReleaseModesIT::millis).max().orElseThrow();
    long firstSwitch = lines.stream().filter(l -> l.contains(" switch ")).mapToLong(ReleaseModesIT::millis).min().orElseThrow();
    assertThat(lines.stream().filter(l -> l.contains(" prepare "))).hasSize(2);
    assertThat(lines.stream().filter(l -> l.contains(" switch "))).hasSize(2);
    long migrated = db.queryLong("SELECT (extract(epoch FROM installed_on) * 1000)::bigint FROM flyway_schema_history WHERE version = '2'");
    // installed_on is the migration transaction's start; the agents' prepare hooks all ended before it, switches after.
    assertThat(lastPrepare).isLessThanOrEqualTo(migrated);
    assertThat(firstSwitch).isGreaterThanOrEqualTo(migrated);
  }

  private static long millis(String hookLine) {
    return Long.parseLong(hookLine.split(" ")[0]);
  }
}
