package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.BaselineReport;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The seed's story with Alembic and three real agents: a database the application migrated itself is adopted
 * ({@code lockstep baseline}, which is {@code alembic stamp} under the fence); the {@code user} table then loses its
 * primary key; the next Alembic revision adds a foreign key to it, which plain {@code alembic upgrade head} fails on
 * ({@code InvalidForeignKey}: no unique constraint matching given keys). Through Lockstep the key is restored first
 * (on the rehearsal's clone, then live), the revision applies once, and the fleet switches together.
 */
class AlembicStoryIT {
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("AlembicStoryIT");
    fleet = new Fleet("AlembicStoryIT", db);
    Path project = fleet.project("alembic/drift");
    Path versions = project.resolve("migrations/versions");
    fleet.startCoordinator(null, "--engine", "alembic", "--alembic-config", project.resolve("alembic.ini").toString());
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
  void theDriftedKeyIsRepairedBeforeTheRevisionThatAddsAForeignKeyToIt() throws Exception {
    // The application migrated itself until now, but its alembic_version was lost: adopt it (alembic stamp, fenced).
    db.execute("CREATE TABLE \"user\" (id integer PRIMARY KEY, email text)");
    db.execute("INSERT INTO \"user\" (id, email) VALUES (1, 'ada@example.com'), (2, 'bob@example.com')");
    Fleet.CliRun refused = fleet.cli("release", "--revision", "v1", "--json");
    assertThat(refused.out()).as(refused.out() + refused.err()).contains("unadopted-database")
        .contains("no Alembic revision in alembic_version");
    Fleet.CliRun dry = fleet.cli("baseline", "--schema", "e1f2", "--dry-run", "--json");
    assertThat(dry.exit()).as(dry.out() + dry.err()).isZero();
    BaselineReport report = Json.read(dry.out(), BaselineReport.class);
    assertThat(report.schema()).isEqualTo("e1f2a3b4c5d6");
    assertThat(report.tables()).containsExactly("public.user");
    assertThat(report.warnings()).anySatisfy(w -> assertThat(w).contains("cannot tell which revisions created"));
    Fleet.CliRun stamped = fleet.cli("baseline", "--schema", "e1f2", "--yes");
    assertThat(stamped.exit()).as(stamped.out() + stamped.err()).isZero();
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("e1f2a3b4c5d6");
    Fleet.CliRun again = fleet.cli("baseline", "--schema", "e1f2", "--dry-run");
    assertThat(again.exit()).isEqualTo(2);
    assertThat(again.err()).contains("already at Alembic revision e1f2a3b4c5d6");

    // Drift: the key is lost.
    db.execute("ALTER TABLE \"user\" DROP CONSTRAINT user_pkey");
    int hookLinesBefore = fleet.hookLines().size();

    Fleet.CliRun second = fleet.cli("release", "--revision", "v2", "--json");
    assertThat(second.exit()).as(second.out() + second.err()).isZero();
    ReleaseDocument doc = Json.read(second.out(), ReleaseDocument.class);
    assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(doc.fromSchema()).isEqualTo("e1f2a3b4c5d6");
    assertThat(doc.schema()).isEqualTo("f2a3b4c5d6e7");
    assertThat(doc.findings()).anySatisfy(f -> {
      assertThat(f.rule()).isEqualTo("missing-primary-key");
      assertThat(f.object()).isEqualTo("public.user");
    });
    assertThat(doc.repairs()).containsExactly("ALTER TABLE \"public\".\"user\" ADD PRIMARY KEY (\"id\")");
    assertThat(doc.applied()).extracting(a -> a.version()).containsExactly("f2a3b4c5d6e7");

    assertThat(db.queryLong("SELECT count(*) FROM pg_constraint WHERE conrelid = '\"user\"'::regclass AND contype = 'p'"))
        .isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f'"))
        .isEqualTo(1);
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("f2a3b4c5d6e7");
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.repairs WHERE release_id = '" + doc.id()
        + "' AND rule = 'missing-primary-key'")).isEqualTo(1);
    List<String> lines = fleet.hookLines().subList(hookLinesBefore, fleet.hookLines().size());
    assertThat(lines.stream().filter(l -> l.contains(" prepare " + doc.id()))).hasSize(3);
    assertThat(lines.stream().filter(l -> l.contains(" switch " + doc.id()))).hasSize(3);
  }
}
