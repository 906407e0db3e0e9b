package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.ContractState;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Contract migrations with a real coordinator and real agents (DESIGN.md, "Contract migrations"). A column is renamed
 * with zero downtime — expand (add the new column, copy, keep both in step), switch, contract (drop the old one) — while
 * a client keeps reading and writing through each server the way that server's code would; then the contract waits
 * for a server that did not switch, is left pending, blocks the next release, and is applied by {@code lockstep
 * contract}; a contract that fails leaves the schema as it was; one deferred is applied later. One fleet, in order.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ContractIT {
  private static final List<String> SERVERS = List.of("web-1", "web-2", "web-3");
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path migrations;

  @BeforeAll
  static void startFleet() {
    db = TestPostgres.instance().createDatabase("ContractIT");
    fleet = new Fleet("ContractIT", db);
    migrations = fleet.migrations("contract");
    fleet.startCoordinator(migrations, "--contract-timeout", "4s");
    for (String id : SERVERS) {
      fleet.startAgent(id, "v0", migrations);
    }
    fleet.awaitAgents(SERVERS.toArray(String[]::new));
    Fleet.CliRun first = fleet.cli("release", "--revision", "v1", "--schema", "1");
    assertThat(first.exit()).as(first.out() + first.err()).isZero();
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
    db.close();
  }

  @Test
  @Order(1)
  void aContractBelowAnotherMigrationIsRefusedNamingBothFiles() {
    // The set holds V2 (expand), contract/V3 and V4 (expand): V4 would have to run after the contract.
    Fleet.CliRun refused = fleet.cli("release", "--revision", "v2");
    assertThat(refused.exit()).as(refused.out() + refused.err()).isEqualTo(2);
    assertThat(refused.err()).contains("contract migration contract/V3__drop_legacy_name.sql")
        .contains("V4__add_nickname.sql").contains("release in two steps");
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '2'")).isZero();
  }

  @Test
  @Order(2)
  void checkShowsTheSplit() {
    Fleet.CliRun check = fleet.cli("check", "--schema", "3");
    assertThat(check.exit()).as(check.out() + check.err()).isZero();
    assertThat(check.out()).contains("mode: online")
        .contains("expand: 1 migration(s), online; contract after the switch: 1 migration(s) (V3 (drop legacy name)):"
            + " V3 (drop legacy name) drops column public.users.legacy_name (1204 non-NULL value(s))")
        .contains("contract-data-loss");
  }

  @Test
  @Order(3)
  void aColumnIsRenamedWithZeroDowntimeAndDroppedOnlyAfterTheLastSwitch() throws Exception {
    RenamingClient client = new RenamingClient(db, fleet.dir, SERVERS, "users", "v1", "legacy_name", "display_name");
    client.start();
    try {
      client.awaitRequests(50);
      Fleet.CliRun release = fleet.cli("release", "--revision", "v2", "--schema", "3", "--json");
      assertThat(release.exit()).as(release.out() + release.err()).isZero();
      ReleaseDocument doc = Json.read(release.out(), ReleaseDocument.class);
      client.awaitRequests(client.requests.get() + 50); // the new code keeps working after the drop
      client.stop();

      assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
      assertThat(doc.mode().wireName()).as("the drop is the contract's: the release stays online").isEqualTo("online");
      assertThat(doc.contract().state()).isEqualTo(ContractState.APPLIED);
      assertThat(doc.contract().migrations()).containsExactly("V3 (drop legacy name)");
      assertThat(doc.findings()).anySatisfy(f -> {
        assertThat(f.rule()).isEqualTo("contract-data-loss");
        assertThat(f.severity().wireName()).isEqualTo("warn");
      });
      assertThat(doc.applied()).extracting(a -> a.version()).containsExactly("2", "3");

      // Dropped once, and only after the last server switched.
      assertThat(db.queryLong("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users'"
          + " AND column_name = 'legacy_name'")).isZero();
      assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '3' AND success")).isEqualTo(1);
      assertThat(db.queryText("SELECT script FROM flyway_schema_history WHERE version = '3'"))
          .isEqualTo("contract/V3__drop_legacy_name.sql");
      Instant lastSwitch = doc.agents().stream().map(ReleaseAgent::switchedAt).map(Instant::parse)
          .max(Instant::compareTo).orElseThrow();
      Instant dropped = Instant.ofEpochMilli(db.queryLong("SELECT (extract(epoch FROM installed_on) * 1000)::bigint"
          + " FROM flyway_schema_history WHERE version = '3'"));
      assertThat(dropped).isAfter(lastSwitch);
      assertThat(doc.contract().afterLastSwitchMs()).isNotNull().isPositive();
      System.out.printf("contract: dropped legacy_name %d ms after the last switch (document: %d ms); client: %d requests,"
              + " %d failed, by revision %s%n", Duration.between(lastSwitch, dropped).toMillis(),
          doc.contract().afterLastSwitchMs(), client.requests.get(), client.failures.size(), client.byRevision);

      assertThat(client.failures).as("no request of either revision's code failed").isEmpty();
      assertThat(client.byRevision.get("v1")).as("old code served during the release").isPositive();
      assertThat(client.byRevision.get("v2")).as("new code served after the switch").isPositive();
      assertThat(client.lastOldCode.get()).as("the last old-code request came before the drop")
          .isLessThan(dropped.toEpochMilli());

      Fleet.CliRun history = fleet.cli("history");
      assertThat(history.out()).contains("3 (contract)");
    } finally {
      client.stop();
    }
  }

  @Test
  @Order(4)
  void aServerThatDidNotSwitchLeavesTheContractPendingUntilItIsGone() throws Exception {
    // web-4's switch hook "succeeds" without moving its code: it keeps reporting v2.
    fleet.startAgent(new Fleet.AgentSpec("web-4", "v2", migrations, "", "exit 0; ", List.of()));
    fleet.awaitAgents("web-1", "web-2", "web-3", "web-4");
    Files.writeString(migrations.resolve("contract/V5__drop_email.sql"), "ALTER TABLE users DROP COLUMN email;\n");

    Fleet.CliRun release = fleet.cli("release", "--revision", "v3");
    assertThat(release.exit()).as(release.out() + release.err()).isEqualTo(3);
    assertThat(release.out()).contains("contract: pending (V5 (drop email))").contains("web-4 on v2")
        .contains("lockstep contract --service " + fleet.service);
    assertThat(columns()).contains("email", "nickname");

    // The next release is refused while it is pending, naming it.
    Fleet.CliRun next = fleet.cli("release", "--revision", "v4");
    assertThat(next.exit()).as(next.out() + next.err()).isEqualTo(2);
    assertThat(next.err()).contains("left its contract pending (V5 (drop email))");

    // lockstep contract refuses while web-4 still runs v2, naming it ...
    Fleet.CliRun early = fleet.cli("contract");
    assertThat(early.exit()).as(early.out() + early.err()).isEqualTo(2);
    assertThat(early.err()).contains("web-4 on v2");
    assertThat(columns()).contains("email");

    // ... and applies it once web-4 runs v3: its operator deploys it by hand and restarts it (this time its switch
    // hook works, slowly: the next test needs a SWITCHING that lasts).
    Files.writeString(fleet.dir.resolve("revision-web-4"), "v3\n");
    fleet.killAgent("web-4");
    fleet.startAgent(new Fleet.AgentSpec("web-4", "v3", migrations, "", "sleep 3; ", List.of()));
    await().atMost(Duration.ofSeconds(20)).until(() -> fleet.agentList().size() == 4 && fleet.agentList().stream()
        .allMatch(a -> a.revision().equals("v3")));
    Fleet.CliRun applied = fleet.cli("contract");
    assertThat(applied.exit()).as(applied.out() + applied.err()).isZero();
    assertThat(applied.out()).contains("contract applied");
    assertThat(columns()).doesNotContain("email");
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '5' AND success")).isEqualTo(1);

    // Applied once: a second call finds nothing to apply.
    Fleet.CliRun again = fleet.cli("contract");
    assertThat(again.exit()).isEqualTo(2);
    assertThat(again.err()).contains("has no contract to apply");
  }

  @Test
  @Order(5)
  void aContractThatFailsLeavesTheSchemaAsItWasAndTheFleetOnTheNewCode() throws Exception {
    Files.writeString(migrations.resolve("V6__add_team.sql"), "ALTER TABLE users ADD COLUMN team text;\n");
    Files.writeString(migrations.resolve("contract/V7__drop_nickname.sql"), "ALTER TABLE users DROP COLUMN nickname;\n");
    // After pre-flight rehearsed the drop, someone adds a view that reads the column: the real drop fails.
    CompletableFuture<Fleet.CliRun> running = CompletableFuture.supplyAsync(() -> fleet.cli("release", "--revision", "v4",
        "--json"));
    // web-4's switch hook takes 3 s: time enough to add the view once SWITCHING began.
    await().atMost(Duration.ofSeconds(60)).until(() -> latest().revision().equals("v4")
        && latest().phase() == Phase.SWITCHING);
    db.execute("CREATE VIEW user_nicknames AS SELECT id, nickname FROM users");
    Fleet.CliRun release = running.get(120, TimeUnit.SECONDS);
    assertThat(release.exit()).as(release.out() + release.err()).isEqualTo(1);
    ReleaseDocument doc = Json.read(release.out(), ReleaseDocument.class);
    assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(doc.contract().state()).isEqualTo(ContractState.FAILED);
    assertThat(doc.contract().reason()).contains("V7").contains("depend")
        .contains("the schema is as it was before it");
    assertThat(columns()).contains("nickname", "team");
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '7'")).isZero();
    assertThat(fleet.agentList()).allSatisfy(a -> assertThat(a.revision()).isEqualTo("v4"));

    // Fixed by hand, it is applied by lockstep contract.
    db.execute("DROP VIEW user_nicknames");
    Fleet.CliRun applied = fleet.cli("contract");
    assertThat(applied.exit()).as(applied.out() + applied.err()).isZero();
    assertThat(columns()).doesNotContain("nickname");
  }

  @Test
  @Order(6)
  void aDeferredContractIsPendingAtOnceAndAppliedLater() throws Exception {
    Files.writeString(migrations.resolve("V8__add_title.sql"), "ALTER TABLE users ADD COLUMN title text;\n");
    Files.writeString(migrations.resolve("contract/V9__drop_team.sql"), "ALTER TABLE users DROP COLUMN team;\n");
    Fleet.CliRun release = fleet.cli("release", "--revision", "v5", "--contract", "defer", "--json");
    assertThat(release.exit()).as(release.out() + release.err()).isEqualTo(3);
    ReleaseDocument doc = Json.read(release.out(), ReleaseDocument.class);
    assertThat(doc.contract().state()).isEqualTo(ContractState.PENDING);
    assertThat(doc.contract().reason()).contains("deferred by the operator");
    assertThat(columns()).contains("team", "title");
    Fleet.CliRun applied = fleet.cli("contract", "--json");
    assertThat(applied.exit()).as(applied.out() + applied.err()).isZero();
    assertThat(Json.read(applied.out(), ReleaseDocument.class).contract().state()).isEqualTo(ContractState.APPLIED);
    assertThat(columns()).doesNotContain("team");
  }

  private static List<String> columns() {
    return db.queryTexts("SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY 1");
  }

  private static ReleaseDocument latest() {
    return fleet.api().get("/v1/releases?service=" + fleet.service + "&limit=1", Pods.ReleaseList.class).releases().get(0);
  }
}
