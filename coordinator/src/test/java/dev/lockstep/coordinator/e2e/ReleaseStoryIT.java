package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The story Lockstep exists for, with a real coordinator and three real agent processes: a table
 * loses its primary key after a first release; the next release adds a foreign key to it; the
 * release repairs the key, applies the migration once, and all three agents prepare, then switch.
 */
class ReleaseStoryIT {
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path migrations;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("ReleaseStoryIT");
    fleet = new Fleet("ReleaseStoryIT", db);
    migrations = fleet.migrations("story");
    fleet.startCoordinator(migrations);
    for (String id : List.of("web-1", "web-2", "web-3")) {
      fleet.startAgent(id, "v0", migrations);
    }
    fleet.awaitAgents("web-1", "web-2", "web-3");
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
    db.close();
  }

  @Test
  void repairsTheDriftedKeyMigratesOnceAndSwitchesTheFleetTogether() throws Exception {
    Fleet.CliRun first = fleet.cli("release", "--revision", "v1", "--schema", "1");
    assertThat(first.exit()).as(first.out() + first.err()).isZero();
    assertThat(first.out()).contains("COMPLETED");

    // Drift: the table loses its primary key, so the next migration's foreign key cannot be created.
    db.execute("ALTER TABLE \"user\" DROP CONSTRAINT user_pkey");
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      c.setAutoCommit(false);
      assertThatThrownBy(() -> s.execute("CREATE TABLE probe (user_id bigint REFERENCES \"user\" (id))"))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("there is no unique constraint matching given keys for referenced table \"user\"");
      c.rollback();
    }
    int hookLinesBefore = fleet.hookLines().size();

    Fleet.CliRun second = fleet.cli("release", "--revision", "v2", "--json");
    assertThat(second.exit()).as(second.out() + second.err()).isZero();
    ReleaseDocument doc = Json.read(second.out(), ReleaseDocument.class);

    assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(doc.schema()).isEqualTo("2");
    assertThat(doc.fromSchema()).isEqualTo("1");
    assertThat(doc.mode().wireName()).isEqualTo("online");
    assertThat(doc.findings()).anySatisfy(f -> {
      assertThat(f.rule()).isEqualTo("missing-primary-key");
      assertThat(f.object()).isEqualTo("public.user");
    });
    assertThat(doc.repairs()).containsExactly("ALTER TABLE \"public\".\"user\" ADD PRIMARY KEY (\"id\")");
    assertThat(doc.applied()).extracting(a -> a.version()).containsExactly("2");
    assertThat(doc.agents()).extracting(ReleaseAgent::id).containsExactly("web-1", "web-2", "web-3");
    assertThat(doc.agents()).allSatisfy(a -> assertThat(a.switchedAt()).isNotNull());
    assertThat(doc.switchSkewMs()).isNotNull().isGreaterThanOrEqualTo(0L);

    // Applied exactly once, the key is back, and the repair is audited.
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '2' AND success")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM pg_constraint WHERE conrelid = '\"user\"'::regclass AND contype = 'p'")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f'")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.repairs WHERE release_id = '" + doc.id()
        + "' AND rule = 'missing-primary-key'")).isEqualTo(1);

    // Every agent prepared, then switched; every prepare came before every switch; the migration in between.
    List<String> lines = fleet.hookLines().subList(hookLinesBefore, fleet.hookLines().size());
    List<String> prepares = lines.stream().filter(l -> l.contains(" prepare " + doc.id())).toList();
    List<String> switches = lines.stream().filter(l -> l.contains(" switch " + doc.id())).toList();
    assertThat(prepares).hasSize(3);
    assertThat(switches).hasSize(3);
    assertThat(lines.indexOf(switches.get(0))).isGreaterThan(lines.indexOf(prepares.get(2)));
    long lastPrepare = prepares.stream().mapToLong(l -> Long.parseLong(l.split(" ")[0])).max().orElseThrow();
    long firstSwitch = switches.stream().mapToLong(l -> Long.parseLong(l.split(" ")[0])).min().orElseThrow();
    long migrated = db.queryLong("SELECT (extract(epoch FROM installed_on) * 1000)::bigint FROM flyway_schema_history WHERE version = '2'");
    assertThat(migrated).isBetween(lastPrepare - 1000, firstSwitch + 1000);
    assertThat(firstSwitch).isGreaterThanOrEqualTo(lastPrepare);

    // The status API shows the whole fleet on the new revision.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(fleet.agentList())
        .extracting(AgentStatus::revision).containsExactly("v2", "v2", "v2"));
    Fleet.CliRun status = fleet.cli("agents", "--service", fleet.service);
    assertThat(status.exit()).isZero();
    assertThat(status.out()).contains("web-1").contains("web-3").contains("v2");
  }
}
