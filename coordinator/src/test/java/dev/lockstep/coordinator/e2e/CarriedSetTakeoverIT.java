package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.rules.FlywayChecksum;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 8's reproduction: two coordinators whose {@code --migrations} folders hold different files (the
 * standby was deployed from another build: its V2 creates {@code from_b}). A release uploads the CI
 * checkout's set (V2 creates {@code from_a}, slowly); the coordinator running it is killed in MIGRATING.
 * The standby takes the release over and must finish it with the set the release carries — the one the
 * agents staged — not with its own folder.
 */
class CarriedSetTakeoverIT {
  private static final String V1 = "CREATE TABLE ledger (id bigint PRIMARY KEY);\n";
  private static final String V2_A = "-- the build being released\nSELECT pg_sleep(6);\nCREATE TABLE from_a (id bigint);\n";
  private static final String V2_B = "-- another build, deployed on the standby only\nCREATE TABLE from_b (id bigint);\n";

  private static TestDatabase db;
  private static Fleet fleet;
  private static Fleet.Standby standby;
  private static Path checkout;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("CarriedSetTakeoverIT");
    fleet = new Fleet("CarriedSetTakeoverIT", db);
    checkout = fleet.folder("ci-checkout", Map.of("V1__ledger.sql", V1, "V2__slow.sql", V2_A));
    Path primaryFolder = fleet.folder("primary-migrations", Map.of("V1__ledger.sql", V1, "V2__slow.sql", V2_A));
    Path standbyFolder = fleet.folder("standby-migrations", Map.of("V1__ledger.sql", V1, "V2__slow.sql", V2_B));
    fleet.startCoordinator(primaryFolder);
    standby = fleet.startStandbyCoordinator("standby.log", standbyFolder);
    fleet.agentsUse(fleet.url(), standby.url());
    fleet.startAgent("a-1", "v0", checkout);
    fleet.startAgent("a-2", "v0", checkout);
    fleet.awaitAgents("a-1", "a-2");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void theStandbyFinishesTheReleaseWithTheSetTheReleaseCarries() {
    ReleaseDocument started = fleet.api().post("/v1/releases",
        Map.of("revision", "v1", "migrations", Fleet.upload(checkout)), ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> fleet.api()
        .get("/v1/releases/" + started.id(), ReleaseDocument.class).phase() == Phase.MIGRATING);
    fleet.coordinator().destroyForcibly();

    ReleaseDocument end = await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(
        () -> standby.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(end.epoch()).as("the standby took the release over").isGreaterThan(started.epoch() + 1);
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'from_b'"))
        .as("nothing from the standby's own folder was applied").isZero();
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'from_a'")).isEqualTo(1);
    assertThat(db.queryLong("SELECT checksum FROM flyway_schema_history WHERE version = '2' AND success"))
        .as("the history's checksum is the uploaded V2's").isEqualTo(FlywayChecksum.of(V2_A));
    assertThat(db.queryLong("SELECT checksum FROM flyway_schema_history WHERE version = '1' AND success"))
        .isEqualTo(FlywayChecksum.of(V1));
    assertThat(standby.api().get("/v1/releases/" + started.id(), Map.class).get("migrationsDigest"))
        .isEqualTo(MigrationsDigest.of(checkout));
  }
}
