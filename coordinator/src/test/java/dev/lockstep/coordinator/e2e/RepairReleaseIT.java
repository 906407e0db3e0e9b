package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.CheckReport;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Drift of every kind the rules repair, put right by one real release: an invalid index left by a
 * failed concurrent build (rebuilt outside the repair transaction), a sequence behind its column,
 * and a user rule from a file. Each repair is audited and shows in {@code history}; {@code check}
 * shows them first and changes nothing.
 */
class RepairReleaseIT {
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void start() throws Exception {
    db = TestPostgres.instance().createDatabase("RepairReleaseIT");
    fleet = new Fleet("RepairReleaseIT", db);
    Path rules = Files.createDirectories(fleet.dir.resolve("rules"));
    Files.writeString(rules.resolve("tenant-rls.json"), """
        {
          "id": "tenant-row-security",
          "severity": "warn",
          "message": "table {object} holds tenant data but has no row level security",
          "detect": "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND c.relname LIKE 'tenant%' AND NOT c.relrowsecurity",
          "repair": "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"
        }
        """);
    Path migrations = fleet.migrations("drift");
    Files.delete(migrations.resolve("V2__add_item_note.sql"));
    fleet.startCoordinator(migrations, "--rules", rules.toString());
    ReleaseDocument first = fleet.api().post("/v1/releases", ReleaseRequest.of("v1", null), ReleaseDocument.class);
    awaitEnd(first.id());
    Files.copy(Path.of("src/test/resources/drift/V2__add_item_note.sql"), migrations.resolve("V2__add_item_note.sql"));
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  private static ReleaseDocument awaitEnd(String id) {
    return org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
        .until(() -> fleet.api().get("/v1/releases/" + id, ReleaseDocument.class), d -> d.phase().isTerminal());
  }

  @Test
  void oneReleaseRepairsAnInvalidIndexASequenceAndAUserRuleFinding() throws Exception {
    // Drift: duplicates made a concurrent unique build fail (index left invalid), then were cleaned up;
    // rows were copied in with explicit ids, leaving the sequence behind.
    db.execute("INSERT INTO items (id, sku) VALUES (1, 'a'), (2, 'a'), (3, 'b')");
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE UNIQUE INDEX CONCURRENTLY items_sku ON items (sku)");
    } catch (SQLException expected) {
      assertThat(expected.getMessage()).contains("could not create unique index");
    }
    db.execute("DELETE FROM items WHERE id = 2");
    assertThat(db.queryLong("SELECT count(*) FROM pg_index WHERE indexrelid = 'items_sku'::regclass AND NOT indisvalid")).isEqualTo(1);

    CheckReport check = fleet.api().post("/v1/check", null, CheckReport.class);
    assertThat(check.blocked()).as(check.blockingReason()).isFalse();
    assertThat(check.findings()).extracting(f -> f.rule())
        .contains("invalid-index", "sequence-behind", "tenant-row-security");
    assertThat(db.queryLong("SELECT count(*) FROM pg_index WHERE indexrelid = 'items_sku'::regclass AND NOT indisvalid"))
        .as("check changed nothing").isEqualTo(1);
    assertThat(db.queryLong("SELECT last_value FROM items_id_seq")).isEqualTo(1);

    Fleet.CliRun run = fleet.cli("release", "--revision", "v2", "--json");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    ReleaseDocument doc = Json.read(run.out(), ReleaseDocument.class);
    assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(doc.repairs()).anyMatch(r -> r.startsWith("REINDEX INDEX CONCURRENTLY"))
        .anyMatch(r -> r.contains("setval")).anyMatch(r -> r.contains("ENABLE ROW LEVEL SECURITY"));

    assertThat(db.queryLong("SELECT count(*) FROM pg_index WHERE indexrelid = 'items_sku'::regclass AND indisvalid")).isEqualTo(1);
    db.execute("INSERT INTO items (sku) VALUES ('c')"); // would collide with id 3 if the sequence were still behind
    assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'tenants' AND relrowsecurity")).isEqualTo(1);

    MigrationHistory history = fleet.api().get("/v1/migrations", MigrationHistory.class);
    assertThat(history.repairs()).extracting(MigrationHistory.Repair::rule)
        .contains("invalid-index", "sequence-behind", "tenant-row-security");
    assertThat(history.repairs()).allMatch(r -> r.releaseId().equals(doc.id()));
    assertThat(fleet.api().post("/v1/check", null, CheckReport.class).findings())
        .noneMatch(f -> f.rule().equals("invalid-index") || f.rule().equals("sequence-behind"));
  }

  @Test
  void aMalformedRuleFileIsRefusedAtStartUpWithItsPathAndTheProblem() throws Exception {
    Path bad = Files.createDirectories(fleet.dir.resolve("bad-rules"));
    Files.writeString(bad.resolve("broken.json"), "{\"id\": \"x\", \"severity\": \"sometimes\", \"message\": \"m\", \"detect\": \"SELECT 1, 2\"}");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        System.getProperty("lockstep.coordinatorJar"), "serve", "--database-url", db.postgresUrl(),
        "--migrations", fleet.dir.toString(), "--token", "a", "--agent-secret", Fleet.AGENT_SECRET, "--rules", bad.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).isEqualTo(2);
    assertThat(out).contains(bad.resolve("broken.json").toString()).contains("sometimes");
  }
}
