package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every operator command takes {@code --service} and {@code --json} (issue 9): the right service is
 * answered, another one is refused before anything happens, and {@code history --json} says which
 * release, coordinator instance and migration set applied each migration.
 */
class CliConsistencyIT {
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("CliConsistencyIT");
    fleet = new Fleet("CliConsistencyIT", db);
    Path migrations = fleet.folder("migrations", Map.of("V1__accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY);",
        "V2__audits.sql", "CREATE TABLE audits (id bigint PRIMARY KEY);"));
    fleet.startCoordinator(migrations);
    fleet.startAgent("c-1", "v0", migrations);
    fleet.awaitAgents("c-1");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void everyCommandTakesServiceAndJsonAndHistoryAttributesEachMigration() {
    Fleet.CliRun released = fleet.cli("release", "--revision", "v1", "--service", fleet.service, "--json");
    assertThat(released.exit()).as(released.err()).isZero();
    ReleaseDocument doc = Json.read(released.out(), ReleaseDocument.class);

    Fleet.CliRun history = fleet.cli("history", "--service", fleet.service, "--json");
    assertThat(history.exit()).as(history.err()).isZero();
    MigrationHistory h = Json.read(history.out(), MigrationHistory.class);
    assertThat(h.applied()).hasSize(2).allSatisfy(e -> {
      assertThat(e.releaseId()).isEqualTo(doc.id());
      assertThat(e.migrationsDigest()).isEqualTo(doc.migrationsDigest());
      assertThat(e.coordinator()).as("the coordinator instance, host/pid").matches(".+/[0-9]+");
    });
    Fleet.CliRun table = fleet.cli("history", "--service", fleet.service);
    assertThat(table.out()).contains("COORDINATOR").contains(h.applied().get(0).coordinator());

    for (String[] command : new String[][] {{"current"}, {"check"}, {"agents"}, {"status"}, {"history"}}) {
      Fleet.CliRun ok = fleet.cli(concat(command, "--service", fleet.service, "--json"));
      assertThat(ok.exit()).as(String.join(" ", command) + ": " + ok.err()).isZero();
      assertThat(Json.read(ok.out(), Map.class)).as(String.join(" ", command)).isNotEmpty();
    }
    for (String[] command : new String[][] {{"current"}, {"check"}, {"history"}, {"release", "--revision", "v2"}}) {
      Fleet.CliRun other = fleet.cli(concat(command, "--service", "other-service", "--json"));
      assertThat(other.exit()).as(String.join(" ", command)).isEqualTo(2);
      assertThat(other.err()).as(String.join(" ", command)).contains("manages service " + fleet.service + ", not other-service");
    }
    Fleet.CliRun abort = fleet.cli("abort", doc.id(), "--service", "other-service");
    assertThat(abort.exit()).isEqualTo(2);
    assertThat(abort.err()).contains("is of service " + fleet.service + ", not other-service").contains("nothing was aborted");
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.releases")).as("nothing was started for another service")
        .isEqualTo(1);
  }

  private static String[] concat(String[] head, String... tail) {
    String[] all = java.util.Arrays.copyOf(head, head.length + tail.length);
    System.arraycopy(tail, 0, all, head.length, tail.length);
    return all;
  }
}
