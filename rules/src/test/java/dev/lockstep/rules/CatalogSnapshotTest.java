package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.rules.CatalogSnapshot.Column;
import dev.lockstep.rules.CatalogSnapshot.Constraint;
import dev.lockstep.rules.CatalogSnapshot.HistoryEntry;
import dev.lockstep.rules.CatalogSnapshot.Index;
import dev.lockstep.rules.CatalogSnapshot.OwnedBy;
import dev.lockstep.rules.CatalogSnapshot.Relation;
import dev.lockstep.rules.CatalogSnapshot.Sequence;
import dev.lockstep.rules.CatalogSnapshot.Table;
import dev.lockstep.rules.CatalogSnapshot.TableName;
import dev.lockstep.rules.CatalogSnapshot.View;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class CatalogSnapshotTest {
  private static final String ODD_SCHEMA = "sales \"eu\"";
  private static final String ODD_TABLE = "order line";

  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass().emptiedBeforeEach("lockstep", "app", ODD_SCHEMA);

  @Test
  void readsTablesColumnsConstraintsAndIndexes() throws SQLException {
    String line = Sql.qualified(ODD_SCHEMA, ODD_TABLE);
    db.execute("""
        CREATE TABLE "user" (id integer PRIMARY KEY, email varchar(200) NOT NULL UNIQUE, name text, age int);
        ALTER TABLE "user" DROP COLUMN age;
        INSERT INTO "user" SELECT g, 'u' || g || '@example.com', 'user ' || g FROM generate_series(1, 1000) g;
        CREATE SCHEMA %1$s;
        CREATE TABLE %2$s (
          "user id" integer NOT NULL CONSTRAINT "line's user" REFERENCES "user"(id),
          qty int CHECK (qty > 0),
          note text);
        CREATE INDEX "by user" ON %2$s ("user id", qty) INCLUDE (note);
        CREATE UNIQUE INDEX lower_note ON %2$s (lower(note)) WHERE qty > 1;
        CREATE SCHEMA lockstep;
        CREATE TABLE lockstep.fence (service text PRIMARY KEY, epoch bigint NOT NULL);
        ANALYZE;
        """.formatted(Sql.quoteIdent(ODD_SCHEMA), line));

    CatalogSnapshot snapshot;
    try (Connection connection = db.connect()) {
      snapshot = CatalogSnapshot.read(connection);
    }

    assertThat(snapshot.tables()).extracting(Table::name)
        .containsExactly(new TableName("public", "user"), new TableName(ODD_SCHEMA, ODD_TABLE));

    Table user = snapshot.table("public", "user").orElseThrow();
    assertThat(user.estimatedRows()).isEqualTo(1000);
    assertThat(user.partitioned()).isFalse();
    assertThat(user.partition()).isFalse();
    assertThat(user.extensionMember()).isFalse();
    assertThat(user.columns()).containsExactly(
        new Column("id", 1, "integer", false),
        new Column("email", 2, "character varying(200)", false),
        new Column("name", 3, "text", true));
    assertThat(user.constraints()).containsExactly(
        new Constraint("user_email_key", Constraint.Type.UNIQUE, List.of("email"), "UNIQUE (email)"),
        new Constraint("user_pkey", Constraint.Type.PRIMARY_KEY, List.of("id"), "PRIMARY KEY (id)"));
    assertThat(user.indexes()).containsExactly(
        new Index("user_email_key", true, false, true, false, false, List.of("email")),
        new Index("user_pkey", true, true, true, false, false, List.of("id")));
    assertThat(user.hasPrimaryKey()).isTrue();
    assertThat(snapshot.hasPrimaryKey(user.name())).isTrue();

    Table orderLine = snapshot.table(ODD_SCHEMA, ODD_TABLE).orElseThrow();
    assertThat(orderLine.name().quoted()).isEqualTo("\"sales \"\"eu\"\"\".\"order line\"");
    assertThat(orderLine.name()).hasToString("sales \"eu\".order line");
    assertThat(orderLine.estimatedRows()).isZero();
    assertThat(orderLine.columns()).extracting(Column::name).containsExactly("user id", "qty", "note");
    assertThat(orderLine.constraints(Constraint.Type.FOREIGN_KEY)).singleElement().satisfies(fk -> {
      assertThat(fk.name()).isEqualTo("line's user");
      assertThat(fk.columns()).containsExactly("user id");
      assertThat(fk.definition()).isEqualTo("FOREIGN KEY (\"user id\") REFERENCES \"user\"(id)");
    });
    assertThat(orderLine.constraints(Constraint.Type.CHECK)).singleElement()
        .satisfies(check -> assertThat(check.columns()).containsExactly("qty"));
    assertThat(orderLine.indexes()).containsExactly(
        new Index("by user", false, false, true, false, false, List.of("user id", "qty")),
        new Index("lower_note", true, false, true, true, true, List.of("lower(note)"), List.of("lower(note)"),
            "qty > 1", false));
    assertThat(orderLine.hasPrimaryKey()).isFalse();
    assertThat(snapshot.hasPrimaryKey(orderLine.name())).isFalse();

    assertThat(snapshot.table("lockstep", "fence")).isEmpty();
    assertThat(snapshot.table("pg_catalog", "pg_class")).isEmpty();
    assertThat(snapshot.hasPrimaryKey(new TableName("public", "missing"))).isFalse();
  }

  @Test
  void readsViewsOidsDefaultsAndWhetherConstraintsAreValidated() throws SQLException {
    db.execute("""
        CREATE TABLE "user" (id integer PRIMARY KEY, name text DEFAULT 'anonymous', age int,
          twice int GENERATED ALWAYS AS (age * 2) STORED, serial_no serial);
        ALTER TABLE "user" ADD CONSTRAINT adult CHECK (age >= 18) NOT VALID;
        CREATE FUNCTION nothing() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
        CREATE CONSTRAINT TRIGGER audited AFTER INSERT ON "user" DEFERRABLE FOR EACH ROW EXECUTE FUNCTION nothing();
        CREATE TABLE measurement (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
        CREATE VIEW user_names AS SELECT id, name FROM "user";
        CREATE MATERIALIZED VIEW adults AS SELECT id, age FROM "user" WHERE age >= 18;
        CREATE INDEX adults_id ON adults (id);
        CREATE SCHEMA lockstep;
        CREATE VIEW lockstep.own_view AS SELECT 1 AS one;
        """);
    try (Connection holder = db.connect(); Connection connection = db.connect()) {
      holder.setAutoCommit(false);
      try (Statement statement = holder.createStatement()) {
        statement.execute("SELECT count(*) FROM adults"); // a materialized view: a lock on it alone
      }
      CatalogSnapshot snapshot = CatalogSnapshot.read(connection);
      Table user = snapshot.table("public", "user").orElseThrow();
      assertThat(user.oid()).isEqualTo(db.queryLong("SELECT '\"user\"'::regclass::oid"));
      assertThat(user.kind()).isEqualTo(Relation.Kind.TABLE);
      assertThat(snapshot.table("public", "measurement").orElseThrow().kind()).isEqualTo(Relation.Kind.PARTITIONED_TABLE);
      assertThat(user.columns()).containsExactly(
          new Column("id", 1, "integer", false, false),
          new Column("name", 2, "text", true, true),
          new Column("age", 3, "integer", true, false),
          new Column("twice", 4, "integer", true, true),
          new Column("serial_no", 5, "integer", false, true));
      assertThat(user.constraints(Constraint.Type.CHECK)).singleElement().satisfies(check -> {
        assertThat(check.validated()).isFalse();
        assertThat(check.definition()).isEqualTo("CHECK (age >= 18) NOT VALID");
      });
      assertThat(user.primaryKey()).hasValueSatisfying(key -> assertThat(key.validated()).isTrue());
      assertThat(user.constraints(Constraint.Type.TRIGGER)).singleElement().satisfies(trigger -> {
        assertThat(trigger.name()).isEqualTo("audited");
        assertThat(trigger.columns()).isEmpty();
      });

      assertThat(snapshot.tables()).extracting(Table::name).as("views are not tables")
          .containsExactly(new TableName("public", "measurement"), new TableName("public", "user"));
      assertThat(snapshot.views()).containsExactly(
          new View(db.queryLong("SELECT 'adults'::regclass::oid"), new TableName("public", "adults"), true,
              List.of(new Column("id", 1, "integer", true), new Column("age", 2, "integer", true))),
          new View(db.queryLong("SELECT 'user_names'::regclass::oid"), new TableName("public", "user_names"), false,
              List.of(new Column("id", 1, "integer", true), new Column("name", 2, "text", true))));
      assertThat(snapshot.views()).extracting(View::kind)
          .containsExactly(Relation.Kind.MATERIALIZED_VIEW, Relation.Kind.VIEW);
      assertThat(snapshot.relations()).extracting(Relation::name).containsExactly(new TableName("public", "measurement"),
          new TableName("public", "user"), new TableName("public", "adults"), new TableName("public", "user_names"));
      assertThat(snapshot.resolve("user_names")).as("configuration names tables only").isEmpty();
      assertThat(snapshot.locks()).as("locks are read on tables only").isEmpty();
      holder.rollback();
    }
  }

  @Test
  void theRelationsOnlyReadHasTheRelationsWithoutIndexesSequencesLocksOrHistory() throws SQLException {
    db.execute("""
        CREATE TABLE "user" (id serial PRIMARY KEY, email text UNIQUE, age int CHECK (age > 0));
        CREATE INDEX user_age ON "user" (age);
        CREATE VIEW user_emails AS SELECT id, email FROM "user";
        CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description text,
          type text, script text, checksum int, installed_by text, installed_on timestamp, execution_time int,
          success boolean);
        INSERT INTO flyway_schema_history VALUES (1, '1', 'a', 'SQL', 'V1__a.sql', 7, 'me', now(), 1, true);
        INSERT INTO "user" (email) VALUES ('a@example.com');
        """);
    try (Connection holder = db.connect(); Connection connection = db.connect()) {
      holder.setAutoCommit(false);
      try (Statement statement = holder.createStatement()) {
        statement.execute("LOCK TABLE \"user\" IN SHARE MODE");
      }
      CatalogSnapshot full = CatalogSnapshot.read(connection);
      CatalogSnapshot relations = CatalogSnapshot.readRelations(connection);
      assertThat(full.sequences()).isNotEmpty();
      assertThat(full.locks()).isNotEmpty();
      assertThat(full.flywayHistory()).isNotEmpty();
      assertThat(full.table("public", "user").orElseThrow().indexes()).hasSize(3);

      assertThat(relations.sequences()).isEmpty();
      assertThat(relations.locks()).isEmpty();
      assertThat(relations.flywayHistory()).isEmpty();
      assertThat(relations.currentSchema()).isEqualTo("public");
      assertThat(relations.views()).isEqualTo(full.views());
      assertThat(relations.tables()).extracting(Table::oid, Table::name, Table::columns)
          .isEqualTo(full.tables().stream().map(t -> org.assertj.core.groups.Tuple.tuple(t.oid(), t.name(), t.columns()))
              .toList());
      Table user = relations.table("public", "user").orElseThrow();
      assertThat(user.indexes()).isEmpty();
      assertThat(user.constraints()).extracting(Constraint::name, Constraint::type, Constraint::columns,
          Constraint::validated, Constraint::definition).containsExactly(
              org.assertj.core.groups.Tuple.tuple("user_age_check", Constraint.Type.CHECK, List.of("age"), true, null),
              org.assertj.core.groups.Tuple.tuple("user_email_key", Constraint.Type.UNIQUE, List.of("email"), true, null),
              org.assertj.core.groups.Tuple.tuple("user_pkey", Constraint.Type.PRIMARY_KEY, List.of("id"), true, null));
      holder.rollback();
    }
  }

  @Test
  void namesSurviveTheRoundTripThroughQuoting() throws SQLException {
    List<String> names = List.of("user", "select", "a \"quoted\" name", "Mixed Case", "semi;colon", "ünïcødé");
    for (String name : names) {
      db.execute("CREATE TABLE " + Sql.qualified("public", name) + " (" + Sql.quoteIdent(name) + " int)");
    }
    try (Connection connection = db.connect()) {
      CatalogSnapshot snapshot = CatalogSnapshot.read(connection);
      for (String name : names) {
        assertThat(snapshot.table("public", name)).hasValueSatisfying(
            table -> assertThat(table.column(name)).isPresent());
      }
    }
  }

  @Test
  void flagsPartitionsAndTablesOwnedByExtensions() throws SQLException {
    db.execute("""
        CREATE TABLE measurement (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE measurement_2025 PARTITION OF measurement FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        CREATE EXTENSION IF NOT EXISTS citext;
        CREATE TABLE extension_data (id int);
        ALTER EXTENSION citext ADD TABLE extension_data;
        """);
    try (Connection connection = db.connect()) {
      CatalogSnapshot snapshot = CatalogSnapshot.read(connection);
      Table parent = snapshot.table("public", "measurement").orElseThrow();
      Table child = snapshot.table("public", "measurement_2025").orElseThrow();
      assertThat(parent.partitioned()).isTrue();
      assertThat(parent.partition()).isFalse();
      assertThat(child.partition()).isTrue();
      assertThat(snapshot.table("public", "extension_data").orElseThrow().extensionMember()).isTrue();
    } finally {
      db.execute("ALTER EXTENSION citext DROP TABLE extension_data; DROP EXTENSION citext");
    }
  }

  @Test
  void readsInItsOwnReadOnlyTransactionAndRestoresTheConnection() throws SQLException {
    db.execute("CREATE TABLE t (id int PRIMARY KEY)");
    try (Connection connection = db.connect()) {
      int isolation = connection.getTransactionIsolation();
      CatalogSnapshot.read(connection);
      assertThat(connection.getAutoCommit()).isTrue();
      assertThat(connection.getTransactionIsolation()).isEqualTo(isolation);
      assertThat(connection.isReadOnly()).isFalse();
      try (Statement statement = connection.createStatement()) {
        statement.execute("INSERT INTO t VALUES (1)"); // still writable, still autocommit
      }
    }
    assertThat(db.queryLong("SELECT count(*) FROM t")).isEqualTo(1);
  }

  @Test
  void insideTheCallersTransactionSeesWhatThatTransactionSees() throws SQLException {
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      try (Statement statement = connection.createStatement()) {
        statement.execute("CREATE TABLE uncommitted (id int)");
      }
      assertThat(CatalogSnapshot.read(connection).table("public", "uncommitted")).isPresent();
      assertThat(connection.getAutoCommit()).isFalse();
      connection.rollback();
      assertThat(CatalogSnapshot.read(connection).table("public", "uncommitted")).isEmpty();
    }
  }

  @Test
  void readsSequencesWithTheirOwnersAndLastValues() throws SQLException {
    db.execute("""
        CREATE TABLE "user" (id serial PRIMARY KEY, name text);
        INSERT INTO "user" (name) VALUES ('a'), ('b');
        CREATE TABLE item (id bigint GENERATED ALWAYS AS IDENTITY (START 100 INCREMENT 10), name text);
        CREATE SEQUENCE loose AS smallint INCREMENT -1 MINVALUE -50 MAXVALUE -1 START -1;
        CREATE SCHEMA lockstep;
        CREATE SEQUENCE lockstep.own_seq;
        """);
    try (Connection connection = db.connect()) {
      assertThat(CatalogSnapshot.read(connection).sequences()).containsExactly(
          new Sequence(new TableName("public", "item_id_seq"), "bigint", 100, 10, 1, Long.MAX_VALUE, null,
              new OwnedBy(new TableName("public", "item"), "id", "bigint", true)),
          new Sequence(new TableName("public", "loose"), "smallint", -1, -1, -50, -1, null, null),
          new Sequence(new TableName("public", "user_id_seq"), "integer", 1, 1, 1, Integer.MAX_VALUE, 2L,
              new OwnedBy(new TableName("public", "user"), "id", "integer", false)));
    }
  }

  @Test
  void readsLocksOfOtherSessionsTheCurrentSchemaAndFlywaysHistory() throws SQLException {
    db.execute("""
        CREATE TABLE "user" (id int PRIMARY KEY);
        CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description text,
          type text, script text, checksum int, installed_by text, installed_on timestamp, execution_time int,
          success boolean);
        INSERT INTO flyway_schema_history VALUES (2, '2', 'b', 'SQL', 'V2__b.sql', NULL, 'me', now(), 1, false),
          (1, '1', 'a', 'SQL', 'V1__a.sql', -42, 'me', now(), 1, true);
        """);
    try (Connection holder = db.connect(); Connection connection = db.connect()) {
      holder.setAutoCommit(false);
      try (Statement statement = holder.createStatement()) {
        statement.execute("LOCK TABLE \"user\" IN SHARE MODE");
      }
      CatalogSnapshot snapshot = CatalogSnapshot.read(connection);
      assertThat(snapshot.currentSchema()).isEqualTo("public");
      assertThat(snapshot.readAt()).isBetween(Instant.now().minusSeconds(60), Instant.now().plusSeconds(60));
      assertThat(snapshot.locks()).singleElement().satisfies(lock -> {
        assertThat(lock.table()).isEqualTo(new TableName("public", "user"));
        assertThat(lock.mode()).isEqualTo("ShareLock");
        assertThat(lock.granted()).isTrue();
        assertThat(lock.state()).isEqualTo("idle in transaction");
        assertThat(lock.backendType()).isEqualTo("client backend");
        assertThat(lock.query()).isEqualTo("LOCK TABLE \"user\" IN SHARE MODE");
        assertThat(lock.transactionAge(snapshot.readAt())).isPositive();
      });
      assertThat(snapshot.flywayHistory()).containsExactly(
          new HistoryEntry(1, "1", "a", "SQL", "V1__a.sql", -42, true),
          new HistoryEntry(2, "2", "b", "SQL", "V2__b.sql", null, false));
      holder.rollback();
    }
  }

  @Test
  void aTableNamedLikeFlywaysHistoryButShapedOtherwiseReadsAsNoHistory() throws SQLException {
    db.execute("CREATE TABLE flyway_schema_history (id int, note text); INSERT INTO flyway_schema_history VALUES (1, 'x')");
    try (Connection connection = db.connect()) {
      assertThat(CatalogSnapshot.read(connection).flywayHistory()).isEmpty();
    }
  }

  @Test
  void resolvesConfiguredNamesAndTellsWhichTablesChanged() throws SQLException {
    db.execute("CREATE SCHEMA app; CREATE TABLE app.\"a.b\" (id int); CREATE TABLE t (id int); CREATE TABLE u (id int)");
    try (Connection connection = db.connect()) {
      CatalogSnapshot before = CatalogSnapshot.read(connection);
      assertThat(before.resolve("app.a.b")).map(Table::name).hasValue(new TableName("app", "a.b"));
      assertThat(before.resolve("t")).map(Table::name).hasValue(new TableName("public", "t"));
      assertThat(before.resolve("public.t")).isPresent();
      assertThat(before.resolve("a.b")).isEmpty();
      assertThat(before.resolveAll(Set.of("t", "app.a.b", "ghost"))).containsExactlyInAnyOrder(
          new TableName("public", "t"), new TableName("app", "a.b"));

      connection.setAutoCommit(false);
      try (Statement statement = connection.createStatement()) {
        statement.execute("ALTER TABLE t ADD name text; DROP TABLE u; CREATE TABLE v (id int); CREATE INDEX ON app.\"a.b\" (id)");
      }
      CatalogSnapshot after = CatalogSnapshot.read(connection);
      connection.rollback();
      assertThat(before.changedTables(after)).containsExactlyInAnyOrder(new TableName("public", "t"),
          new TableName("public", "u"), new TableName("public", "v"), new TableName("app", "a.b"));
    }
  }
}
