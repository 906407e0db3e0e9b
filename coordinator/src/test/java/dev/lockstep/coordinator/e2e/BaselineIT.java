package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.lockstep.protocol.BaselineReport;
import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Adoption, end to end with a real coordinator and two real agents: an app that migrated itself until now
 * (its tables made by plain SQL, an {@code alembic_version} table, no Flyway history) and a migration set
 * whose V1 and V2 create what is already there and whose V3 adds something new. A release is refused
 * before anything runs, naming {@code baseline}; {@code baseline} refuses without a terminal or
 * {@code --yes}; its dry run shows the tables and which migrations would create existing objects; with
 * {@code --yes} it records V2; {@code history} shows who and when; the next release applies V3 only; a
 * second baseline is refused.
 */
class BaselineIT {
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static TestDatabase db;
  private static Fleet fleet;

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("BaselineIT");
    // What the app built for itself, Alembic's bookkeeping included.
    db.execute("""
        CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
        CREATE UNIQUE INDEX users_email ON users (email);
        CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
        CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
        INSERT INTO alembic_version VALUES ('2b1e');
        INSERT INTO users VALUES (1, 'ada@example.com');
        """);
    fleet = new Fleet("BaselineIT", db);
    Path migrations = fleet.folder("migrations", Map.of(
        "V1__create_users.sql", """
            CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);
            CREATE UNIQUE INDEX users_email ON users (email);
            """,
        "V2__create_orders.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));\n",
        "V3__audits_and_nicknames.sql", """
            CREATE TABLE audits (id bigserial PRIMARY KEY, note text);
            ALTER TABLE users ADD COLUMN nickname text;
            """));
    fleet.startCoordinator(migrations);
    fleet.startAgent("web-1", "v0", migrations);
    fleet.startAgent("web-2", "v0", migrations);
    fleet.awaitAgents("web-1", "web-2");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void adoptsTheAppsOwnDatabaseOnlyWhenAskedAndThenReleasesWhatIsNew() throws Exception {
    String untouched = db.fingerprint();

    // 1. A release is refused in PREFLIGHT, before any agent is told anything, saying to baseline; so is check.
    Fleet.CliRun refused = fleet.cli("release", "--revision", "v1", "--json");
    assertThat(refused.exit()).as(refused.out() + refused.err()).isEqualTo(1);
    ReleaseDocument aborted = Json.read(refused.out(), ReleaseDocument.class);
    assertThat(aborted.phase()).isEqualTo(Phase.ABORTED);
    assertThat(aborted.reason()).contains("unadopted-database").contains("lockstep baseline --schema 2")
        .contains("public.users").contains("public.alembic_version");
    assertThat(aborted.applied()).isEmpty();
    assertThat(fleet.hookLines()).noneMatch(l -> l.contains(aborted.id()));
    Fleet.CliRun check = fleet.cli("check");
    assertThat(check.exit()).as(check.out() + check.err()).isEqualTo(1);
    assertThat(check.out()).contains("unadopted-database").contains("lockstep baseline --schema 2");

    // 2. Without a terminal and without --yes, baseline shows the report and refuses.
    Fleet.CliRun unconfirmed = fleet.cli("baseline", "--schema", "2");
    assertThat(unconfirmed.exit()).as(unconfirmed.out() + unconfirmed.err()).isEqualTo(2);
    assertThat(unconfirmed.err()).contains("no terminal").contains("--yes");
    assertThat(unconfirmed.out()).contains("public.orders").contains("table users (exists)")
        .contains("table audits (missing)").contains("suggested: --schema 2");

    // 3. The dry run names the tables and, per migration, what it would create and whether that exists.
    Fleet.CliRun dry = fleet.cli("baseline", "--schema", "2", "--dry-run", "--json");
    assertThat(dry.exit()).as(dry.out() + dry.err()).isZero();
    BaselineReport report = Json.read(dry.out(), BaselineReport.class);
    assertThat(report.dryRun()).isTrue();
    assertThat(report.baseline()).isNull();
    assertThat(report.tables()).containsExactly("public.alembic_version", "public.orders", "public.users");
    assertThat(report.suggested()).isEqualTo("2");
    assertThat(report.migrations()).extracting(BaselineReport.Migration::version, BaselineReport.Migration::covered)
        .containsExactly(tuple("1", true), tuple("2", true),
            tuple("3", false));
    assertThat(report.migrations().get(0).creates()).containsExactly(
        new BaselineReport.Created("table", "users", true, 1), new BaselineReport.Created("index", "users_email", true, 2));
    assertThat(report.migrations().get(1).creates()).containsExactly(new BaselineReport.Created("table", "orders", true, 1));
    assertThat(report.migrations().get(2).creates()).containsExactly(
        new BaselineReport.Created("table", "audits", false, 1), new BaselineReport.Created("column", "users.nickname", false, 2));
    assertThat(report.warnings()).isEmpty();
    // At 3 the report warns that V3's objects are missing; at 9 (not in the set) it is refused.
    BaselineReport tooHigh = Json.read(post("{\"schema\":\"3\",\"dryRun\":true}").body(), BaselineReport.class);
    assertThat(tooHigh.warnings()).singleElement().asString().contains("V3 (audits and nicknames)")
        .contains("table audits, column users.nickname").contains("never run");
    HttpResponse<String> unknown = post("{\"schema\":\"9\",\"dryRun\":true}");
    assertThat(unknown.statusCode()).isEqualTo(422);
    assertThat(Json.read(unknown.body(), ErrorBody.class).detail()).contains("schema version 9 is not in");
    assertThat(db.fingerprint()).as("refusals and dry runs change nothing").isEqualTo(untouched);
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.baselines")).isZero();

    // 4. Confirmed: Flyway's own baseline row at 2, and the audit row, naming the token and the caller.
    Instant before = Instant.now();
    Fleet.CliRun recorded = fleet.cli("baseline", "--schema", "2", "--yes");
    assertThat(recorded.exit()).as(recorded.out() + recorded.err()).isZero();
    assertThat(recorded.out()).contains("baseline recorded: service " + fleet.service + " at schema 2, by operator");
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE type = 'BASELINE' AND version = '2'"
        + " AND description = '<< Lockstep Baseline >>' AND success")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.baselines WHERE service = '" + fleet.service + "' AND version = '2'"
        + " AND requested_by = 'operator' AND caller = '127.0.0.1'")).isEqualTo(1);

    // 5. history shows the baseline, who and when; V1 and V2 are neither pending nor applied, V3 is pending.
    Fleet.CliRun historyJson = fleet.cli("history", "--json");
    assertThat(historyJson.exit()).as(historyJson.err()).isZero();
    MigrationHistory history = Json.read(historyJson.out(), MigrationHistory.class);
    assertThat(history.current()).isEqualTo("2");
    assertThat(history.baseline()).isNotNull();
    assertThat(history.baseline().version()).isEqualTo("2");
    assertThat(history.baseline().requestedBy()).isEqualTo("operator");
    assertThat(history.baseline().caller()).isEqualTo("127.0.0.1");
    assertThat(Instant.parse(history.baseline().at())).isBetween(before.minusSeconds(5), Instant.now());
    assertThat(history.baseline().covered()).containsExactly("V1 (create users)", "V2 (create orders)");
    assertThat(history.baseline().tables()).containsExactly("public.alembic_version", "public.orders", "public.users");
    assertThat(history.applied()).extracting(MigrationHistory.Entry::state).containsExactly("Baseline");
    assertThat(history.pending()).extracting(MigrationHistory.Entry::version).containsExactly("3");
    Fleet.CliRun historyTable = fleet.cli("history");
    assertThat(historyTable.out()).contains("baseline: schema 2 recorded as applied without running (V1 (create users),"
        + " V2 (create orders)) by operator from 127.0.0.1 at " + history.baseline().at());

    // 6. The release now applies V3 only, through the whole fleet.
    Fleet.CliRun released = fleet.cli("release", "--revision", "v1", "--json");
    assertThat(released.exit()).as(released.out() + released.err()).isZero();
    ReleaseDocument doc = Json.read(released.out(), ReleaseDocument.class);
    assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(doc.fromSchema()).isEqualTo("2");
    assertThat(doc.applied()).extracting(a -> a.version()).containsExactly("3");
    assertThat(db.queryLong("SELECT count(*) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'nickname'"))
        .isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM users")).as("the app's data stays").isEqualTo(1);
    assertThat(fleet.hookLines()).filteredOn(l -> l.contains(" switch " + doc.id())).hasSize(2);

    // 7. A second baseline is refused, naming the version the database is at; so is its dry run.
    HttpResponse<String> again = post("{\"schema\":\"2\",\"dryRun\":false}");
    assertThat(again.statusCode()).as(again.body()).isEqualTo(409);
    assertThat(Json.read(again.body(), ErrorBody.class).detail()).contains("already has Flyway history").contains("version 3");
    Fleet.CliRun dryAgain = fleet.cli("baseline", "--schema", "2", "--dry-run");
    assertThat(dryAgain.exit()).isEqualTo(2);
    assertThat(dryAgain.err()).contains("already has Flyway history").contains("version 3");
    assertThat(db.queryLong("SELECT count(*) FROM lockstep.baselines")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history")).isEqualTo(2);
  }

  private static HttpResponse<String> post(String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(fleet.url() + "/v1/baseline")).timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
