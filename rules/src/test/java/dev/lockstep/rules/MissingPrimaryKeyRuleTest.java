package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class MissingPrimaryKeyRuleTest {
  private static final String ADD_USER_KEY = "ALTER TABLE \"public\".\"user\" ADD PRIMARY KEY (\"id\")";
  private static final String POST_REFERENCING_USER =
      "CREATE TABLE post (id int PRIMARY KEY, user_id int NOT NULL REFERENCES \"user\"(id))";

  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass().emptiedBeforeEach("lockstep", "app");

  private final Rule rule = new MissingPrimaryKeyRule();
  private final RuleEngine engine = new RuleEngine();

  /** The drift Lockstep exists for: "user" lost its key, and a migration adding a foreign key to it fails. */
  @Test
  void restoresADroppedPrimaryKeySoThatAForeignKeyCanReferenceTheTable() throws SQLException {
    db.execute("""
        CREATE TABLE "user" (id int PRIMARY KEY, name text);
        INSERT INTO "user" SELECT g, 'user ' || g FROM generate_series(1, 100) g;
        ALTER TABLE "user" DROP CONSTRAINT user_pkey;
        """);
    assertThatThrownBy(() -> db.execute(POST_REFERENCING_USER))
        .hasMessageContaining("there is no unique constraint matching given keys for referenced table \"user\"");

    Inspection inspection = db.inspect(engine);
    assertThat(inspection.findings()).containsExactly(new Finding("missing-primary-key", Severity.WARN, "public.user",
        "table public.user has no primary key; column id is unique and not null, so the key will be restored",
        List.of(ADD_USER_KEY)));
    assertThat(inspection.blocked()).isFalse();
    assertThat(inspection.repairs()).containsExactly(ADD_USER_KEY);

    assertThat(db.applyAndCommit(engine, inspection.findings())).containsExactly(ADD_USER_KEY);

    assertThat(db.inspect(engine).findings()).isEmpty();
    db.execute(POST_REFERENCING_USER);
    db.execute("INSERT INTO post VALUES (1, 42)");
    assertThatThrownBy(() -> db.execute("INSERT INTO post VALUES (2, 4242)"))
        .hasMessageContaining("violates foreign key constraint");
  }

  @Test
  void aRepairRolledBackByTheCallerLeavesTheTableAsItWas() throws SQLException {
    db.execute("CREATE TABLE \"user\" (id int, name text); INSERT INTO \"user\" VALUES (1, 'a'), (2, 'b')");
    try (Connection connection = db.connect()) {
      Inspection inspection = engine.inspect(connection);
      connection.setAutoCommit(false);
      engine.apply(connection, inspection.findings());
      connection.rollback();
      assertThat(engine.inspect(connection).repairs()).containsExactly(ADD_USER_KEY);
    }
  }

  @Test
  void blocksOnDuplicatesWithTheCountAndSamples() throws SQLException {
    db.execute("""
        CREATE TABLE "user" (id int, name text);
        INSERT INTO "user" (id) SELECT g FROM generate_series(1, 20) g;
        INSERT INTO "user" (id) VALUES (12), (7), (9), (9);
        """);
    assertThat(single()).isEqualTo(new Finding("missing-primary-key", Severity.BLOCK, "public.user",
        "table public.user has no primary key, and column id cannot become one: 0 NULLs, 3 duplicated values"
            + " (e.g. 7, 9, 12); remove the duplicates, then run the release again",
        List.of()));
  }

  @Test
  void blocksOnNulls() throws SQLException {
    db.execute("""
        CREATE TABLE "user" (id int, name text);
        INSERT INTO "user" (id) VALUES (1), (2), (NULL), (3), (NULL);
        """);
    assertThat(single()).isEqualTo(new Finding("missing-primary-key", Severity.BLOCK, "public.user",
        "table public.user has no primary key, and column id cannot become one: 2 NULLs, 0 duplicated values;"
            + " fill or remove the NULLs, then run the release again",
        List.of()));
  }

  @Test
  void blocksOnNullsAndDuplicatesShowingAtMostFiveSamplesInValueOrder() throws SQLException {
    db.execute("""
        CREATE TABLE "user" (id int, name text);
        INSERT INTO "user" (id) SELECT g % 8 + 3 FROM generate_series(1, 16) g;
        INSERT INTO "user" (id) VALUES (100), (NULL);
        """);
    Finding finding = single();
    assertThat(finding.severity()).isEqualTo(Severity.BLOCK);
    assertThat(finding.message()).isEqualTo("table public.user has no primary key, and column id cannot become one:"
        + " 1 NULL, 8 duplicated values (e.g. 3, 4, 5, 6, 7); remove the duplicates and fill or remove the NULLs,"
        + " then run the release again");
    assertThat(finding.hasRepair()).isFalse();
  }

  @Test
  void usesTheSingleColumnOfAUniqueIndexWhenThereIsNoIdColumn() throws SQLException {
    String odd = Sql.qualified("app", "odd \"table\"");
    db.execute("""
        CREATE SCHEMA app;
        CREATE TABLE %1$s ("e-mail" text NOT NULL, name text);
        CREATE UNIQUE INDEX by_email ON %1$s ("e-mail");
        CREATE INDEX by_name ON %1$s (name);
        INSERT INTO %1$s VALUES ('a@example.com', 'a'), ('b@example.com', 'b');
        """.formatted(odd));
    Finding finding = single();
    assertThat(finding.severity()).isEqualTo(Severity.WARN);
    assertThat(finding.object()).isEqualTo("app.odd \"table\"");
    assertThat(finding.message()).isEqualTo("table app.odd \"table\" has no primary key; column e-mail is unique and"
        + " not null, so the key will be restored");
    assertThat(finding.repair()).containsExactly("ALTER TABLE \"app\".\"odd \"\"table\"\"\" ADD PRIMARY KEY (\"e-mail\")");

    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      engine.apply(connection, List.of(finding));
      connection.commit();
      assertThat(CatalogSnapshot.read(connection).table("app", "odd \"table\"").orElseThrow().primaryKey())
          .hasValueSatisfying(key -> assertThat(key.columns()).containsExactly("e-mail"));
    }
  }

  @Test
  void aNullableUniqueColumnWithNullsBlocks() throws SQLException {
    db.execute("""
        CREATE TABLE account (email text UNIQUE, name text);
        INSERT INTO account VALUES ('a@example.com', 'a'), (NULL, 'b'), (NULL, 'c');
        """);
    assertThat(single().message()).isEqualTo("table public.account has no primary key, and column email cannot"
        + " become one: 2 NULLs, 0 duplicated values; fill or remove the NULLs, then run the release again");
  }

  @Test
  void aColumnNamedIdWinsOverAUniqueIndex() throws SQLException {
    db.execute("CREATE TABLE account (\"ID\" bigint, email text UNIQUE); INSERT INTO account VALUES (1, 'a'), (2, 'b')");
    assertThat(single().repair()).containsExactly("ALTER TABLE \"public\".\"account\" ADD PRIMARY KEY (\"ID\")");
  }

  @Test
  void aTableWithoutAnIdentifiableKeyColumnIsOnlyReported() throws SQLException {
    db.execute("""
        CREATE TABLE event (at timestamptz, payload text, code text);
        CREATE UNIQUE INDEX open_code ON event (code) WHERE payload IS NULL;
        CREATE UNIQUE INDEX lower_payload ON event (lower(payload));
        CREATE UNIQUE INDEX at_and_code ON event (at, code);
        """);
    assertThat(single()).isEqualTo(new Finding("missing-primary-key", Severity.INFO, "public.event",
        "table public.event has no primary key, and no column could be one (none is named id, no unique index has"
            + " a single column); add a primary key in a migration if other tables are to reference it",
        List.of()));
  }

  @Test
  void aPartitionedTableIsOnlyReportedAndItsPartitionsNotAtAll() throws SQLException {
    db.execute("""
        CREATE TABLE measurement (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE measurement_2025 PARTITION OF measurement FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        """);
    assertThat(single()).isEqualTo(new Finding("missing-primary-key", Severity.INFO, "public.measurement",
        "partitioned table public.measurement has no primary key; a key on a partitioned table must include the"
            + " partition key, so add it in a migration", List.of()));
  }

  @Test
  void twoCandidateColumnsAreAChoiceNotARepair() throws SQLException {
    db.execute("CREATE TABLE account (email text UNIQUE, login text UNIQUE)");
    Finding finding = single();
    assertThat(finding.severity()).isEqualTo(Severity.INFO);
    assertThat(finding.message()).contains("columns email and login each have a unique index");
    assertThat(finding.hasRepair()).isFalse();
  }

  @Test
  void leavesAloneTablesWithKeysPartitionsFlywayHistoryExtensionsAndTheCoordinatorSchema() throws SQLException {
    db.execute("""
        CREATE TABLE keyed (id int PRIMARY KEY);
        CREATE TABLE flyway_schema_history (installed_rank int, version text);
        CREATE SCHEMA lockstep;
        CREATE TABLE lockstep.release_event (id bigint, body text);
        CREATE TABLE measurement (id bigint NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
        CREATE TABLE measurement_2025 PARTITION OF measurement FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        CREATE EXTENSION IF NOT EXISTS citext;
        CREATE TABLE extension_data (id int);
        ALTER EXTENSION citext ADD TABLE extension_data;
        """);
    try {
      assertThat(db.inspectAlone(rule)).isEmpty();
    } finally {
      db.execute("ALTER EXTENSION citext DROP TABLE extension_data; DROP EXTENSION citext");
    }
  }

  @Test
  void aKeyColumnThatCannotBeComparedBlocksThatTableOnlyEvenInsideTheCallersTransaction() throws SQLException {
    db.execute("""
        CREATE TABLE document (id json, body text);
        INSERT INTO document VALUES ('1', 'a');
        CREATE TABLE "user" (id int, name text);
        INSERT INTO "user" VALUES (1, 'a');
        """);
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      List<Finding> findings = engine.inspect(connection).findings();
      assertThat(findings).extracting(Finding::object).containsExactly("public.document", "public.user");
      assertThat(findings.get(0).severity()).isEqualTo(Severity.BLOCK);
      assertThat(findings.get(0).message()).startsWith("table public.document has no primary key, and column id could"
          + " not be checked: ERROR: could not identify an equality operator for type json");
      assertThat(findings.get(1).severity()).isEqualTo(Severity.WARN);
      connection.commit(); // the caller's transaction survived the failed check
    }
  }

  @Test
  void aKeyDeclaredInConfigurationIsUsedWhereNothingElseWouldBe() throws SQLException {
    db.execute("""
        CREATE SCHEMA app;
        CREATE TABLE app.legacy (code text NOT NULL, label text);
        INSERT INTO app.legacy VALUES ('a', 'A'), ('b', 'B');
        CREATE TABLE plain (id int, code text);
        INSERT INTO plain VALUES (1, 'x'), (2, 'x');
        """);
    InspectionContext context = InspectionContext.empty()
        .withDeclaredKeys(Map.of("app.legacy", "code", "plain", "id", "public.ghost", "id"));
    List<Finding> findings = findings(context);
    assertThat(findings).extracting(Finding::object).containsExactly("app.legacy", "public.plain");
    assertThat(findings.get(0)).isEqualTo(new Finding("missing-primary-key", Severity.WARN, "app.legacy",
        "table app.legacy has no primary key; column code is unique and not null, so the key will be restored",
        List.of("ALTER TABLE \"app\".\"legacy\" ADD PRIMARY KEY (\"code\")")));
    assertThat(findings.get(1).repair()).containsExactly("ALTER TABLE \"public\".\"plain\" ADD PRIMARY KEY (\"id\")");
    assertThat(findings(InspectionContext.empty())).extracting(Finding::severity)
        .containsExactly(Severity.INFO, Severity.WARN); // without the declaration, app.legacy has no candidate

    db.applyAndCommit(engine, findings);
    assertThat(findings(context)).isEmpty();
  }

  @Test
  void aDeclaredKeyColumnThatDoesNotExistBlocks() throws SQLException {
    db.execute("CREATE TABLE legacy (id int, label text); INSERT INTO legacy VALUES (1, 'a')");
    List<Finding> findings = findings(InspectionContext.empty().withDeclaredKeys(Map.of("legacy", "code")));
    assertThat(findings).containsExactly(new Finding("missing-primary-key", Severity.BLOCK, "public.legacy",
        "table public.legacy has no primary key, and the key column declared for it, code, does not exist (columns:"
            + " id, label); correct the declared key, then run the release again", List.of()));
  }

  private List<Finding> findings(InspectionContext context) throws SQLException {
    return db.inspect(engine, context).findings();
  }

  private Finding single() throws SQLException {
    List<Finding> findings = db.inspectAlone(rule);
    assertThat(findings).hasSize(1);
    return findings.get(0);
  }
}
