package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.migration.flyway.FlywaySet;
import dev.lockstep.coordinator.migration.flyway.FlywayBaselineInspection;
import dev.lockstep.coordinator.migration.flyway.FlywayEngine;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.store.BaselineStore;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.LockstepSchema;
import dev.lockstep.protocol.Baseline;
import dev.lockstep.protocol.BaselineReport;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What adopting a database sees and does, against a real PostgreSQL: the tables that count (not
 * Lockstep's, not Flyway's history), whether each object a migration creates exists — every kind, in
 * other schemas and under quoted names — the suggested version, and a baseline and its audit that a
 * coordinator which lost the fence cannot write.
 */
class AdoptionIT {
  private TestDatabase db;
  private Connections connections;
  private FlywayEngine migrations;

  @BeforeEach
  void createDatabase() throws Exception {
    db = TestPostgres.instance().createDatabase("AdoptionIT");
    DatabaseUrl url = DatabaseUrl.parse(db.postgresUrl());
    connections = new Connections(url);
    migrations = new FlywayEngine(url, null, "adopt", Duration.ofSeconds(5));
    try (Connection c = connections.open("setup")) {
      LockstepSchema.ensure(c);
    }
  }

  @AfterEach
  void dropDatabase() {
    db.close();
  }

  private static MigrationSet set(Map<String, String> files) {
    SortedMap<String, byte[]> bytes = new TreeMap<>();
    files.forEach((name, sql) -> bytes.put(name, sql.getBytes(StandardCharsets.UTF_8)));
    return MigrationSet.of("the test's set", bytes);
  }

  private FlywayBaselineInspection.Result inspect(MigrationSet set) throws Exception {
    try (Connection c = connections.open("inspect")) {
      return FlywayBaselineInspection.inspect(c, FlywaySet.of(set));
    }
  }

  @Test
  void onlyTheApplicationsTablesCount() throws Exception {
    MigrationSet set = set(Map.of("V1__t.sql", "CREATE TABLE t (id int);"));
    assertThat(inspect(set).unadopted()).as("lockstep's own tables are not the app's").isFalse();
    db.execute("CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version text, success boolean)");
    FlywayBaselineInspection.Result historyTableOnly = inspect(set);
    assertThat(historyTableOnly.tables()).isEmpty();
    db.execute("DROP TABLE flyway_schema_history; CREATE SCHEMA billing; CREATE TABLE billing.invoices (id int)");
    FlywayBaselineInspection.Result found = inspect(set);
    assertThat(found.tables()).containsExactly("billing.invoices");
    assertThat(found.unadopted()).isTrue();
    assertThat(found.historyRows()).isZero();
  }

  @Test
  void everyKindOfObjectIsLookedUpAsTheMigrationWouldResolveIt() throws Exception {
    db.execute("""
        CREATE SCHEMA app;
        CREATE TABLE app."Users" (id bigint PRIMARY KEY, email text);
        CREATE INDEX users_email ON app."Users" (email);
        CREATE SEQUENCE invoice_no;
        CREATE VIEW active AS SELECT 1 AS x;
        CREATE TYPE mood AS ENUM ('happy');
        ALTER TABLE app."Users" ADD CONSTRAINT email_set CHECK (email <> '');
        """);
    MigrationSet set = set(Map.of("V1__all.sql", """
        CREATE SCHEMA IF NOT EXISTS app;
        CREATE TABLE app."Users" (id bigint PRIMARY KEY, email text);
        CREATE INDEX users_email ON app."Users" (email);
        CREATE SEQUENCE invoice_no;
        CREATE VIEW active AS SELECT 1 AS x;
        CREATE TYPE mood AS ENUM ('happy');
        CREATE EXTENSION IF NOT EXISTS plpgsql;
        ALTER TABLE app."Users" ADD CONSTRAINT email_set CHECK (email <> ''), ADD COLUMN email text;
        """, "V2__missing.sql", """
        CREATE TABLE app.users (id bigint);
        CREATE INDEX users_email ON public.other (x);
        CREATE TYPE app.mood AS ENUM ('sad');
        CREATE EXTENSION IF NOT EXISTS no_such_extension;
        ALTER TABLE app."Users" ADD COLUMN nickname text, ADD CONSTRAINT nick_set CHECK (true);
        CREATE SCHEMA reporting;
        """));
    FlywayBaselineInspection.Result found = inspect(set);
    assertThat(found.migrations().get(0).creates()).allSatisfy(c -> assertThat(c.exists()).as(c.name()).isTrue())
        .extracting(BaselineReport.Created::kind).containsExactly("schema", "table", "index", "sequence", "view", "type",
            "extension", "constraint", "column");
    assertThat(found.migrations().get(1).creates()).allSatisfy(c -> assertThat(c.exists()).as(c.name()).isFalse())
        .extracting(BaselineReport.Created::name).containsExactly("app.users", "public.users_email", "app.mood",
            "no_such_extension", "app.Users.nickname", "app.Users.nick_set", "reporting");
    assertThat(found.suggested()).isEqualTo("1");
  }

  @Test
  void theSuggestionIsTheLastMigrationOfAnUnbrokenRunOfExistingObjects() throws Exception {
    db.execute("CREATE TABLE a (id int); CREATE TABLE c (id int); CREATE TABLE e (id int)");
    MigrationSet set = set(Map.of(
        "V1__a.sql", "CREATE TABLE a (id int);",
        "V2__seed.sql", "INSERT INTO a VALUES (1);",
        "V3__c.sql", "CREATE TABLE c (id int);",
        "V4__d.sql", "CREATE TABLE d (id int);",
        "V5__e.sql", "CREATE TABLE e (id int);"));
    FlywayBaselineInspection.Result found = inspect(set);
    assertThat(found.suggested()).isEqualTo("3");
    assertThat(found.warnings(MigrationVersion.fromVersion("3"))).satisfiesExactly(
        w -> assertThat(w).startsWith("V2 (seed) creates nothing Lockstep can look for"),
        w -> assertThat(w).startsWith("V5 (e) would create table e, which the database has already"));
    assertThat(found.warnings(MigrationVersion.fromVersion("4"))).anySatisfy(
        w -> assertThat(w).startsWith("V4 (d) would create table d, which the database does not have"));
    assertThat(found.report(MigrationVersion.fromVersion("3"))).extracting(BaselineReport.Migration::covered)
        .containsExactly(true, true, true, false, false);
  }

  @Test
  void aBaselineIsFlywaysOwnAndACoordinatorThatLostTheFenceWritesNothing() throws Exception {
    db.execute("CREATE TABLE a (id int); INSERT INTO lockstep.fence (service, epoch) VALUES ('adopt', 4)");
    MigrationSet set = set(Map.of("V1__a.sql", "CREATE TABLE a (id int);", "V2__b.sql", "CREATE TABLE b (id int);"));

    assertThatThrownBy(() -> migrations.baseline(set, "1", 3))
        .isInstanceOfSatisfying(LockstepException.class, e -> assertThat(e.code()).isEqualTo(LockstepException.Code.FENCED));
    assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'flyway_schema_history'")).isZero();
    Baseline audit = new Baseline("adopt", "1", FlywayEngine.BASELINE_DESCRIPTION, "operator", "10.0.0.7",
        "2026-01-02T03:04:05Z", List.of("public.a"), List.of("V1 (a)"), set.digest());
    try (Connection c = connections.open("audit")) {
      assertThatThrownBy(() -> BaselineStore.record(c, audit, 3)).isInstanceOf(LockstepException.class);
      assertThat(BaselineStore.latest(c, "adopt")).isEmpty();
    }

    migrations.baseline(set, "1", 4);
    assertThat(migrations.plan(set, null).current()).isEqualTo("1");
    assertThat(migrations.plan(set, null).pendingLabels()).containsExactly("V2 (b)");
    try (Connection c = connections.open("audit")) {
      BaselineStore.record(c, audit, 4);
      assertThat(BaselineStore.latest(c, "adopt")).contains(audit);
    }
    assertThatThrownBy(() -> migrations.baseline(set, "2", 4)).as("Flyway refuses another baseline over its history")
        .isInstanceOfSatisfying(LockstepException.class, e -> assertThat(e.code()).isEqualTo(LockstepException.Code.CONFLICT));
  }
}
