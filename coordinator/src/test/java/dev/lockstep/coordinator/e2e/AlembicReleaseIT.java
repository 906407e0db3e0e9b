package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.SchemaDump;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Alembic releases end to end: a coordinator run with {@code --engine alembic} on a small real project (three
 * revisions, one a data migration through {@code op.get_bind()}), the real {@code alembic} command, and three
 * real agents that stage the project's versions folder. In order: a release to head (prepare, then migrate, then
 * switch); a revision that fails on the live data (the schema-only rehearsal cannot see it) ends FAILED with the
 * schema as it was and the agents told to abort; a revision that fails on the schema is stopped by the rehearsal;
 * {@code --schema -1}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AlembicReleaseIT {
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path project;
  private static Path versions;
  private static Path pythonStarts;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("AlembicReleaseIT");
    fleet = new Fleet("AlembicReleaseIT", db);
    project = fleet.project("alembic/shop");
    versions = project.resolve("migrations/versions");
    // Alembic's Python, writing down each start of Lockstep's driver with its mode (inspect, steps): `python -m alembic`.
    pythonStarts = fleet.dir.resolve("python-starts.log");
    Path python = fleet.dir.resolve("python-logged");
    try {
      Files.deleteIfExists(pythonStarts); // the folder outlives a run
      Files.writeString(python, "#!/bin/sh\n[ \"$1\" = -c ] && echo \"$5\" >> " + pythonStarts
          + "\nexec /usr/bin/python3 \"$@\"\n");
      Files.setPosixFilePermissions(python, PosixFilePermissions.fromString("rwxr-xr-x"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    fleet.startCoordinator(null, "--engine", "alembic", "--alembic-config", project.resolve("alembic.ini").toString(),
        "--alembic-command", python + " -m alembic");
    for (String id : List.of("web-1", "web-2", "web-3")) {
      fleet.startAgent(id, "v0", versions);
    }
    fleet.awaitAgents("web-1", "web-2", "web-3");
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
    db.close();
  }

  @Test
  @Order(1)
  void aReleaseToHeadPreparesThenMigratesThenSwitchesAndMatchesPlainAlembic() throws Exception {
    // The coordinator read its folder's set once it started (docs/reference.md, "Read at start").
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(starts()).containsExactly("inspect"));
    Fleet.CliRun run = fleet.cli("release", "--revision", "v1", "--json");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    ReleaseDocument doc = Json.read(run.out(), ReleaseDocument.class);
    assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(doc.fromSchema()).isNull();
    assertThat(doc.schema()).isEqualTo("c3d4e5f6a7b8");
    assertThat(doc.pending()).hasSize(3).satisfiesExactly(p -> assertThat(p).startsWith("a1b2c3d4e5f6 (create table user"),
        p -> assertThat(p).startsWith("b2c3d4e5f6a7 (add user.display_name"), p -> assertThat(p).isEqualTo("c3d4e5f6a7b8 (create table orders)"));
    assertThat(doc.applied()).extracting(a -> a.version()).containsExactly("a1b2c3d4e5f6", "b2c3d4e5f6a7", "c3d4e5f6a7b8");
    assertThat(doc.findings()).anySatisfy(f -> {
      assertThat(f.rule()).isEqualTo("rehearsal-clone");
      assertThat(f.message()).contains("schema-only clone").contains("failures that depend on the data");
    });
    assertThat(doc.agents()).extracting(ReleaseAgent::id).containsExactly("web-1", "web-2", "web-3");
    // The set was not read again for the release; one driver for the rehearsal, one (started ahead) for MIGRATING.
    assertThat(starts()).containsExactly("inspect", "steps", "steps");
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("c3d4e5f6a7b8");
    assertThat(db.queryLong("SELECT count(*) FROM \"user\" WHERE display_name IS NOT NULL")).isEqualTo(2);
    assertThat(db.queryLong("SELECT count(*) FROM pg_database d JOIN pg_shdescription c ON c.objoid = d.oid"
        + " WHERE d.datname LIKE 'lockstep_rehearsal_%' AND c.description LIKE '%of the schema of " + db.name() + ":%'"))
        .as("the rehearsal's clone is gone").isZero();

    // Alembic's own lines are release events, between prepare and switch.
    List<String> events = events(doc.id());
    int prepared = indexOf(events, "MIGRATING: applying repairs, then 3 migration(s)");
    int firstRunning = indexOf(events, "alembic: Running upgrade  -> a1b2c3d4e5f6");
    int switching = indexOf(events, "SWITCHING: telling");
    assertThat(prepared).isGreaterThanOrEqualTo(0);
    assertThat(firstRunning).isGreaterThan(prepared);
    assertThat(indexOf(events, "alembic: Running upgrade b2c3d4e5f6a7 -> c3d4e5f6a7b8")).isBetween(firstRunning, switching);
    // The switch's moment, announced --switch-lead ahead (default 150ms): the event says when.
    assertThat(events.get(switching)).matches("SWITCHING: telling 3 agent\\(s\\) to switch to revision v1 at "
        + "\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z \\(150ms ahead\\)");

    List<String> lines = fleet.hookLines();
    List<String> prepares = lines.stream().filter(l -> l.contains(" prepare " + doc.id())).toList();
    List<String> switches = lines.stream().filter(l -> l.contains(" switch " + doc.id())).toList();
    assertThat(prepares).hasSize(3);
    assertThat(switches).hasSize(3);
    assertThat(lines.indexOf(switches.get(0))).isGreaterThan(lines.indexOf(prepares.get(2)));

    // The same schema as plain `alembic upgrade heads` on an empty database (Lockstep's fence objects aside).
    try (TestDatabase plain = TestPostgres.instance().createDatabase("AlembicReleaseIT_plain")) {
      Fleet.alembic(project, plain, "upgrade", "heads");
      assertThat(SchemaDump.of(db, SchemaDump.Exclusions.LOCKSTEP)).isEqualTo(SchemaDump.of(plain, SchemaDump.Exclusions.LOCKSTEP));
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(fleet.agentList())
        .extracting(AgentStatus::revision).containsExactly("v1", "v1", "v1"));

    // `lockstep history`: every revision applied, each attributed to this release.
    MigrationHistory history = fleet.api().get("/v1/migrations?service=" + fleet.service, MigrationHistory.class);
    assertThat(history.current()).isEqualTo("c3d4e5f6a7b8");
    assertThat(history.applied()).extracting(MigrationHistory.Entry::version)
        .containsExactly("a1b2c3d4e5f6", "b2c3d4e5f6a7", "c3d4e5f6a7b8");
    assertThat(history.applied()).allSatisfy(e -> assertThat(e.releaseId()).isEqualTo(doc.id()));
    assertThat(events).anySatisfy(e -> assertThat(e).contains("with alembic on a schema-only clone"));
  }

  @Test
  @Order(2)
  void aRevisionThatFailsOnTheLiveDataEndsFailedWithTheSchemaAsItWasAndTheAgentsAborted() throws Exception {
    // bob has no name: fine on the schema-only clone (no rows), refused on the live table.
    Path broken = versions.resolve("d4e5f6a7b8c9_require_user_name.py");
    Files.writeString(broken, revision("d4e5f6a7b8c9", "c3d4e5f6a7b8", "require user names",
        "    op.add_column('orders', sa.Column('note', sa.Text(), nullable=True))\n"
            + "    op.alter_column('user', 'name', nullable=False)\n"));
    String before = SchemaDump.of(db, SchemaDump.Exclusions.LOCKSTEP);
    int hookLinesBefore = fleet.hookLines().size();

    Fleet.CliRun run = fleet.cli("release", "--revision", "v2", "--json");
    assertThat(run.exit()).as(run.out() + run.err()).isNotZero();
    ReleaseDocument doc = Json.read(run.out(), ReleaseDocument.class);
    assertThat(doc.phase()).isEqualTo(Phase.FAILED);
    assertThat(doc.reason()).contains("in revision d4e5f6a7b8c9 (require user names)")
        .contains("column \"name\"").contains("contains null values")
        .contains("the database is at c3d4e5f6a7b8");
    assertThat(SchemaDump.of(db, SchemaDump.Exclusions.LOCKSTEP)).as("nothing of d4 committed").isEqualTo(before);
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("c3d4e5f6a7b8");
    await().atMost(Duration.ofSeconds(20)).until(() -> fleet.hookLines().subList(hookLinesBefore, fleet.hookLines().size())
        .stream().filter(l -> l.contains(" abort " + doc.id())).count() == 3);
    assertThat(fleet.hookLines().subList(hookLinesBefore, fleet.hookLines().size()))
        .noneMatch(l -> l.contains(" switch " + doc.id()));
    Files.delete(broken);
  }

  @Test
  @Order(3)
  void aRevisionThatFailsOnTheSchemaIsStoppedByTheRehearsalBeforeAnyServerIsTouched() throws Exception {
    Path broken = versions.resolve("d4e5f6a7b8c9_broken_reference.py");
    Files.writeString(broken, revision("d4e5f6a7b8c9", "c3d4e5f6a7b8", "reference a missing table",
        "    op.execute('ALTER TABLE orders ADD COLUMN x int REFERENCES no_such_table(id)')\n"));
    int hookLinesBefore = fleet.hookLines().size();
    Fleet.CliRun check = fleet.cli("check", "--json");
    assertThat(check.out() + check.err()).contains("rehearsal on a schema-only clone")
        .contains("in revision d4e5f6a7b8c9 (reference a missing table)").contains("no_such_table");

    Fleet.CliRun run = fleet.cli("release", "--revision", "v3", "--json");
    ReleaseDocument doc = Json.read(run.out(), ReleaseDocument.class);
    assertThat(doc.phase()).as(run.out()).isEqualTo(Phase.ABORTED);
    assertThat(doc.reason()).contains("pre-flight blocked");
    assertThat(fleet.hookLines().subList(hookLinesBefore, fleet.hookLines().size()))
        .noneMatch(l -> l.contains(" prepare " + doc.id()));
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("c3d4e5f6a7b8");
    Files.delete(broken);
  }

  @Test
  @Order(4)
  void schemaMinusOneDowngradesTheNewestRevisionAcrossTheFleet() throws Exception {
    Fleet.CliRun run = fleet.cli("release", "--revision", "v0", "--schema", "-1", "--json");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    ReleaseDocument doc = Json.read(run.out(), ReleaseDocument.class);
    assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(doc.fromSchema()).isEqualTo("c3d4e5f6a7b8");
    assertThat(doc.schema()).isEqualTo("b2c3d4e5f6a7");
    assertThat(doc.applied()).extracting(a -> a.version()).containsExactly("c3d4e5f6a7b8");
    assertThat(doc.mode().wireName()).as("dropping a table is not safe for old code").isEqualTo("maintenance");
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("b2c3d4e5f6a7");
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'orders'")).isZero();
    Fleet.CliRun current = fleet.cli("current");
    assertThat(current.exit()).as(current.err()).isZero();
    assertThat(current.out()).contains("b2c3d4e5f6a7");
  }

  static String revision(String id, String down, String message, String upgrade) {
    return "\"\"\"" + message + "\n\nRevision ID: " + id + "\nRevises: " + down + "\n\"\"\"\n"
        + "from alembic import op\nimport sqlalchemy as sa\n\n"
        + "revision = '" + id + "'\ndown_revision = '" + down + "'\nbranch_labels = None\ndepends_on = None\n\n\n"
        + "def upgrade():\n" + upgrade + "\n\ndef downgrade():\n    pass\n";
  }

  private static List<String> events(String releaseId) {
    return db.queryTexts("SELECT message FROM lockstep.release_events WHERE release_id = '" + releaseId + "' ORDER BY seq");
  }

  private static int indexOf(List<String> events, String fragment) {
    for (int i = 0; i < events.size(); i++) {
      if (events.get(i).contains(fragment)) {
        return i;
      }
    }
    return -1;
  }

  /** The driver's runs so far, by mode, in the order they started. */
  private static List<String> starts() throws java.io.IOException {
    return Files.exists(pythonStarts) ? Files.readAllLines(pythonStarts) : List.of();
  }
}
