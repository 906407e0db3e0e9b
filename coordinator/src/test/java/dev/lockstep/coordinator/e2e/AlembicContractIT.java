package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.ContractState;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Contract migrations with the Alembic engine: a revision module that sets {@code lockstep_phase = "contract"} (read
 * by Python's parser, never run by the coordinator) drops {@code user.name} after the switch, while a client keeps
 * reading and writing through each server as its code would; a plain revision that descends from a contract revision
 * is refused naming both.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AlembicContractIT {
  private static final List<String> SERVERS = List.of("web-1", "web-2", "web-3");
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path versions;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("AlembicContractIT");
    fleet = new Fleet("AlembicContractIT", db);
    Path project = fleet.project("alembic/rename");
    versions = project.resolve("migrations/versions");
    fleet.startCoordinator(null, "--engine", "alembic", "--alembic-config", project.resolve("alembic.ini").toString());
    for (String id : SERVERS) {
      fleet.startAgent(id, "v0", versions);
    }
    fleet.awaitAgents(SERVERS.toArray(String[]::new));
    Fleet.CliRun first = fleet.cli("release", "--revision", "v1", "--schema", "a1b2c3d4e5f6");
    assertThat(first.exit()).as(first.out() + first.err()).isZero();
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
    db.close();
  }

  @Test
  @Order(1)
  void theContractRevisionDropsTheOldColumnAfterTheLastSwitchWhileBothCodesServe() throws Exception {
    Fleet.CliRun check = fleet.cli("check");
    assertThat(check.exit()).as(check.out() + check.err()).isZero();
    assertThat(check.out()).contains("expand: 1 migration(s), online; contract after the switch: 1 migration(s)"
        + " (c3d4e5f6a7b8 (contract: drop user.name");

    RenamingClient client = new RenamingClient(db, fleet.dir, SERVERS, "\"user\"", "v1", "name", "display_name");
    client.start();
    try {
      client.awaitRequests(50);
      Fleet.CliRun release = fleet.cli("release", "--revision", "v2", "--json");
      assertThat(release.exit()).as(release.out() + release.err()).isZero();
      ReleaseDocument doc = Json.read(release.out(), ReleaseDocument.class);
      client.awaitRequests(client.requests.get() + 50);
      client.stop();

      assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
      assertThat(doc.mode().wireName()).isEqualTo("online");
      assertThat(doc.contract().state()).isEqualTo(ContractState.APPLIED);
      assertThat(doc.contract().migrations()).singleElement().asString().startsWith("c3d4e5f6a7b8 (contract: drop user.name");
      assertThat(doc.applied()).extracting(a -> a.version()).containsExactly("b2c3d4e5f6a7", "c3d4e5f6a7b8");
      assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("c3d4e5f6a7b8");
      assertThat(db.queryLong("SELECT count(*) FROM information_schema.columns WHERE table_name = 'user'"
          + " AND column_name = 'name'")).isZero();

      Instant lastSwitch = doc.agents().stream().map(ReleaseAgent::switchedAt).map(Instant::parse)
          .max(Instant::compareTo).orElseThrow();
      Instant contractAt = Instant.parse(doc.contract().appliedAt());
      assertThat(contractAt).isAfter(lastSwitch);
      System.out.printf("alembic contract: applied %d ms after the last switch; client: %d requests, %d failed, by"
              + " revision %s%n", doc.contract().afterLastSwitchMs(), client.requests.get(), client.failures.size(),
          client.byRevision);
      assertThat(client.failures).as("no request of either revision's code failed").isEmpty();
      assertThat(client.byRevision.get("v1")).isPositive();
      assertThat(client.byRevision.get("v2")).isPositive();
      assertThat(client.lastOldCode.get()).isLessThan(contractAt.toEpochMilli());

      MigrationHistory history = fleet.api().get("/v1/migrations?service=" + fleet.service, MigrationHistory.class);
      assertThat(history.applied()).filteredOn(MigrationHistory.Entry::contract).extracting(MigrationHistory.Entry::version)
          .containsExactly("c3d4e5f6a7b8");
    } finally {
      client.stop();
    }
  }

  @Test
  @Order(2)
  void aPlainRevisionAfterAContractRevisionIsRefusedNamingBoth() throws Exception {
    Files.writeString(versions.resolve("d4e5f6a7b8c9_drop_email.py"), revision("d4e5f6a7b8c9", "c3d4e5f6a7b8",
        "contract: drop user.email", "lockstep_phase = \"contract\"\n", "op.drop_column('user', 'email')"));
    Files.writeString(versions.resolve("e5f6a7b8c9d0_add_team.py"), revision("e5f6a7b8c9d0", "d4e5f6a7b8c9",
        "add user.team", "# lockstep_phase = \"contract\" is only a comment here\n",
        "op.add_column('user', sa.Column('team', sa.Text(), nullable=True))"));
    Fleet.CliRun refused = fleet.cli("release", "--revision", "v3");
    assertThat(refused.exit()).as(refused.out() + refused.err()).isEqualTo(2);
    assertThat(refused.err()).contains("contract revision d4e5f6a7b8c9 (d4e5f6a7b8c9_drop_email.py)")
        .contains("revision e5f6a7b8c9d0 (e5f6a7b8c9d0_add_team.py), which descends from it");
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("c3d4e5f6a7b8");
  }

  private static String revision(String id, String down, String message, String marker, String upgrade) {
    return "\"\"\"" + message + "\n\nRevision ID: " + id + "\nRevises: " + down + "\n\"\"\"\n"
        + "from alembic import op\nimport sqlalchemy as sa\n\n"
        + "revision = '" + id + "'\ndown_revision = '" + down + "'\nbranch_labels = None\ndepends_on = None\n" + marker
        + "\n\ndef upgrade():\n    " + upgrade + "\n\n\ndef downgrade():\n    pass\n";
  }
}
