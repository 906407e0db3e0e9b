package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 6's minimal reproduction, end to end with a real coordinator and agents: a service at V1, then
 * {@code V2__wrapped.sql} that brings its own {@code BEGIN; … COMMIT;} and a broken {@code V3}. Before,
 * {@code check} committed V2's table on the way to V3's failure. Now {@code check} changes nothing, the
 * release of V2 + V3 leaves neither the table nor a history row, and V2 alone then completes.
 */
class WrappedMigrationIT {
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path migrations;

  @BeforeAll
  static void start() throws Exception {
    db = TestPostgres.instance().createDatabase("WrappedMigrationIT");
    fleet = new Fleet("WrappedMigrationIT", db);
    migrations = fleet.migrations("wrapped");
    fleet.startCoordinator(migrations);
    fleet.startAgent("w-1", "v0", migrations);
    fleet.startAgent("w-2", "v0", migrations);
    fleet.awaitAgents("w-1", "w-2");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void aWrappedMigrationNeverEscapesTheReleaseTransaction() throws Exception {
    assertThat(fleet.cli("release", "--revision", "v1").exit()).isZero();
    db.execute("INSERT INTO \"user\" VALUES (1, 'ada'), (2, 'grace')");
    Files.writeString(migrations.resolve("V2__wrapped.sql"), "BEGIN;\nCREATE TABLE wrapped (id bigint PRIMARY KEY);\nCOMMIT;\n");
    Files.writeString(migrations.resolve("V3__broken.sql"), "ALTER TABLE wrapped ADD COLUMN sku text NOT NULL REFERENCES nowhere (id);\n");

    String before = db.fingerprint();
    Fleet.CliRun check = fleet.cli("check", "--json");
    assertThat(check.out()).contains("transaction-wrapper").contains("V3 (broken) would fail");
    assertThat(db.fingerprint()).as("check changes nothing").isEqualTo(before);
    assertThat(tables("wrapped")).isZero();

    Fleet.CliRun refused = fleet.cli("release", "--revision", "v2", "--json");
    assertThat(refused.exit()).as(refused.err()).isEqualTo(1);
    ReleaseDocument aborted = Json.read(refused.out(), ReleaseDocument.class);
    assertThat(aborted.phase()).isEqualTo(Phase.ABORTED);
    assertThat(aborted.reason()).contains("V3 (broken)");
    assertThat(tables("wrapped")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version IN ('2', '3')")).isZero();
    assertThat(db.fingerprint()).isEqualTo(before);
    assertThat(fleet.agentList()).extracting(AgentStatus::revision).containsExactly("v1", "v1");

    Files.delete(migrations.resolve("V3__broken.sql"));
    Fleet.CliRun released = fleet.cli("release", "--revision", "v2", "--json");
    assertThat(released.exit()).as(released.err()).isZero();
    ReleaseDocument done = Json.read(released.out(), ReleaseDocument.class);
    assertThat(done.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(done.findings()).anySatisfy(f -> {
      assertThat(f.rule()).isEqualTo("transaction-wrapper");
      assertThat(f.object()).isEqualTo("V2");
    });
    assertThat(done.applied()).extracting(a -> a.version()).containsExactly("2");
    assertThat(tables("wrapped")).isOne();
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '2' AND success")).isOne();
  }

  private static long tables(String name) {
    return db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = '" + name + "'");
  }
}
