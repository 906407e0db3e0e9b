package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code release --schema V} with V below the database's version: undo scripts ({@code U…}) run
 * newest first, each with its history bookkeeping, and the fleet switches back to the older
 * revision together. A version without an undo script cannot be downgraded past, and the release
 * is refused naming it.
 */
class DowngradeIT {
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path migrations;

  @BeforeAll
  static void start() throws Exception {
    db = TestPostgres.instance().createDatabase("DowngradeIT");
    fleet = new Fleet("DowngradeIT", db);
    migrations = fleet.migrations("downgrade");
    Files.move(migrations.resolve("V3__add_user_email.sql"), fleet.dir.resolve("V3__add_user_email.sql.later"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    fleet.startCoordinator(migrations);
    fleet.startAgent("d-1", "v0", migrations);
    fleet.startAgent("d-2", "v0", migrations);
    fleet.awaitAgents("d-1", "d-2");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void aDowngradeRunsTheUndoScriptsAndSwitchesTheFleetBack() throws Exception {
    assertThat(fleet.cli("release", "--revision", "v2").exit()).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'orders'")).isEqualTo(1);

    db.execute("INSERT INTO orders (user_id, total) VALUES (1, 9.99)");
    Fleet.CliRun guarded = fleet.cli("release", "--revision", "v1", "--schema", "1", "--json");
    assertThat(guarded.exit()).isEqualTo(1);
    assertThat(Json.read(guarded.out(), ReleaseDocument.class).reason())
        .contains("table public.orders, which holds 1 row(s)").contains("--allow-data-loss");

    // One step down, as `alembic downgrade -1` says it.
    Fleet.CliRun down = fleet.cli("release", "--revision", "v1", "--schema", "-1", "--allow-data-loss", "--json");
    assertThat(down.exit()).as(down.out() + down.err()).isZero();
    ReleaseDocument doc = Json.read(down.out(), ReleaseDocument.class);
    assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(doc.fromSchema()).isEqualTo("2");
    assertThat(doc.schema()).isEqualTo("1");
    assertThat(doc.pending()).containsExactly("U2 (create orders)");
    assertThat(doc.applied()).extracting(a -> a.description()).containsExactly("undo create orders");
    assertThat(doc.mode()).isEqualTo(Mode.MAINTENANCE);
    assertThat(doc.modeReason()).contains("U2 (create orders) drops table public.orders");
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'orders'")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '2'")).isZero();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(fleet.agentList())
        .extracting(AgentStatus::revision).containsExactly("v1", "v1"));

    // Forward again, past a version that has no undo script.
    Files.move(fleet.dir.resolve("V3__add_user_email.sql.later"), migrations.resolve("V3__add_user_email.sql"));
    assertThat(fleet.cli("release", "--revision", "v3").exit()).isZero();

    Fleet.CliRun refused = fleet.cli("release", "--revision", "v1", "--schema", "1");
    assertThat(refused.exit()).isEqualTo(2);
    assertThat(refused.err()).contains("cannot downgrade from 3 to 1")
        .contains("V3 (add user email) has no undo script: U3__add_user_email.sql is missing");
    // Below the first version is the empty schema: refused for the same missing file, not for "no version 0".
    Fleet.CliRun toNothing = fleet.cli("release", "--revision", "v0", "--schema", "0");
    assertThat(toNothing.exit()).isEqualTo(2);
    assertThat(toNothing.err()).contains("cannot downgrade from 3 to 0").contains("U3__add_user_email.sql is missing")
        .doesNotContain("is not in");
    Fleet.CliRun tooFar = fleet.cli("release", "--revision", "v0", "--schema", "-5");
    assertThat(tooFar.err()).contains("cannot downgrade from 3 to 0").contains("U3__add_user_email.sql is missing");
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '3'")).isEqualTo(1);
  }
}
