package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.rules.CatalogDiff.Dropped;
import dev.lockstep.rules.CatalogSnapshot.Relation;
import dev.lockstep.rules.CatalogSnapshot.TableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The schema comparison behind the rehearsal's mode decision and data-loss guard, each change made inside
 * one transaction between two snapshots, as a rehearsal does. The phrases are the ones the rehearsal puts
 * after a migration's label ("V2 (rename) renames column …").
 */
class CatalogDiffTest {
  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass().emptiedBeforeEach("app", "lockstep");

  @BeforeEach
  void createSchema() {
    db.execute("""
        CREATE SCHEMA app;
        CREATE TABLE "user" (id bigint PRIMARY KEY, name text, nickname text, age int, email text);
        INSERT INTO "user" VALUES (1, 'ada', 'x', 36, 'ada@example.com');
        CREATE TABLE audit (id bigint PRIMARY KEY, note text);
        CREATE TABLE app.item (id int, code text, price numeric(10,2) DEFAULT 0);
        CREATE TABLE measurement (id int, at date NOT NULL) PARTITION BY RANGE (at);
        CREATE TABLE measurement_2025 PARTITION OF measurement FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        CREATE VIEW user_names AS SELECT id, name FROM "user";
        CREATE MATERIALIZED VIEW item_codes AS SELECT id, code FROM app.item;
        CREATE TYPE mood AS ENUM ('calm', 'busy');
        CREATE TABLE typed (m mood, v varchar(10), n numeric(5,1)[]);
        CREATE FUNCTION nothing() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
        CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version text);
        CREATE TABLE app.flyway_schema_history (x int);
        CREATE SCHEMA lockstep;
        CREATE TABLE lockstep.fence (id int);
        """);
  }

  @Test
  void additionsAreSafeForOldCode() throws SQLException {
    assertThat(diff("""
        CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES "user" (id));
        ALTER TABLE "user" ADD COLUMN phone text;
        ALTER TABLE audit ADD COLUMN ok boolean NOT NULL DEFAULT true;
        ALTER TABLE "user" ADD COLUMN twice bigint GENERATED ALWAYS AS (age * 2) STORED NOT NULL;
        ALTER TABLE "user" ADD CONSTRAINT later CHECK (age > 0) NOT VALID;
        ALTER TABLE app.item ADD CONSTRAINT to_user FOREIGN KEY (id) REFERENCES "user" (id) NOT VALID;
        CREATE INDEX user_email ON "user" (email);
        CREATE VIEW adults AS SELECT id FROM "user" WHERE age >= 18;
        ALTER VIEW user_names ALTER COLUMN name SET DEFAULT 'anonymous';
        ALTER TABLE "user" ALTER COLUMN name SET DEFAULT 'anonymous';
        ALTER TABLE measurement ALTER COLUMN at DROP NOT NULL;
        ALTER TABLE typed ADD COLUMN scratch int;
        ALTER TABLE typed DROP COLUMN scratch;
        """)).isEqualTo(new CatalogDiff(List.of(), List.of()));
  }

  @Test
  void aRenameInsideTheTransactionIsARenameNotADropAndAnAdd() throws SQLException {
    assertThat(diff("ALTER TABLE \"user\" RENAME COLUMN name TO full_name").breaking())
        .containsExactly("renames column public.user.name to full_name");
    assertThat(diff("ALTER TABLE audit RENAME TO audit_log").breaking())
        .containsExactly("renames table public.audit to public.audit_log");
    assertThat(diff("ALTER TABLE audit SET SCHEMA app").breaking())
        .containsExactly("renames table public.audit to app.audit");
    assertThat(diff("ALTER TABLE measurement RENAME TO readings").breaking())
        .containsExactly("renames table public.measurement to public.readings");
    assertThat(diff("ALTER MATERIALIZED VIEW item_codes RENAME TO codes").breaking())
        .containsExactly("renames view public.item_codes to public.codes");
    assertThat(diff("ALTER MATERIALIZED VIEW item_codes RENAME COLUMN code TO c").breaking())
        .containsExactly("renames column public.item_codes.code to c");
    assertThat(diff("ALTER TABLE \"user\" RENAME COLUMN name TO full_name").dropped()).isEmpty();
  }

  @Test
  void whatOldCodeCannotReadOrWriteIsBreaking() throws SQLException {
    assertThat(diff("ALTER TABLE \"user\" ALTER COLUMN age TYPE bigint").breaking())
        .containsExactly("changes the type of public.user.age from integer to bigint");
    assertThat(diff("ALTER TABLE typed ALTER COLUMN v TYPE varchar(20); ALTER TABLE typed ALTER COLUMN n TYPE numeric(6,1)[]")
        .breaking()).containsExactly(
            "changes the type of public.typed.v from character varying(10) to character varying(20)",
            "changes the type of public.typed.n from numeric(5,1)[] to numeric(6,1)[]");
    assertThat(diff("ALTER TYPE mood RENAME TO feeling").breaking())
        .containsExactly("changes the type of public.typed.m from mood to feeling");
    assertThat(diff("ALTER TABLE \"user\" ALTER COLUMN nickname SET NOT NULL").breaking())
        .containsExactly("adds NOT NULL to public.user.nickname");
    assertThat(diff("ALTER TABLE app.item ADD PRIMARY KEY (id)").breaking())
        .as("the key itself is not breaking, the NOT NULL it brings is").containsExactly("adds NOT NULL to app.item.id");
    assertThat(diff("ALTER TABLE audit ADD COLUMN actor text NOT NULL").breaking())
        .containsExactly("adds column public.audit.actor NOT NULL without a default, which old code's inserts omit");
    assertThat(diff("ALTER TABLE app.item ADD COLUMN ident int NOT NULL GENERATED ALWAYS AS IDENTITY").breaking())
        .containsExactly("adds column app.item.ident NOT NULL without a default, which old code's inserts omit");
  }

  @Test
  void aValidatedConstraintOldCodeCanViolateIsBreaking() throws SQLException {
    assertThat(diff("ALTER TABLE \"user\" ADD CONSTRAINT adult CHECK (age >= 18)").breaking())
        .containsExactly("adds check constraint adult on public.user, which old code can violate");
    assertThat(diff("ALTER TABLE app.item ADD CONSTRAINT code_unique UNIQUE (code)").breaking())
        .containsExactly("adds unique constraint code_unique on app.item, which old code can violate");
    assertThat(diff("ALTER TABLE typed ADD CONSTRAINT one_v EXCLUDE USING btree (v WITH =)").breaking())
        .containsExactly("adds exclusion constraint one_v on public.typed, which old code can violate");
    assertThat(diff("ALTER TABLE audit ADD CONSTRAINT by_user FOREIGN KEY (id) REFERENCES \"user\" (id)").breaking())
        .containsExactly("adds foreign key constraint by_user on public.audit, which old code can violate");
    assertThat(diff("CREATE CONSTRAINT TRIGGER checked AFTER INSERT ON audit DEFERRABLE FOR EACH ROW EXECUTE FUNCTION nothing()")
        .breaking()).containsExactly("adds a constraint checked on public.audit, which old code can violate");
    assertThat(diff("ALTER TABLE \"user\" ADD CONSTRAINT later CHECK (age > 0) NOT VALID;"
        + " ALTER TABLE \"user\" VALIDATE CONSTRAINT later").breaking())
        .containsExactly("adds check constraint later on public.user, which old code can violate");
  }

  @Test
  void dropsOfTablesAndColumnsMayLoseDataDropsOfViewsCannot() throws SQLException {
    CatalogDiff columns = diff("ALTER TABLE \"user\" DROP COLUMN email; ALTER TABLE measurement DROP COLUMN id");
    assertThat(columns.breaking()).containsExactly("drops column public.measurement.id",
        "drops column public.measurement_2025.id", "drops column public.user.email");
    assertThat(columns.dropped()).containsExactly(new Dropped("public", "measurement", "id"),
        new Dropped("public", "measurement_2025", "id"), new Dropped("public", "user", "email"));
    assertThat(columns.dropped()).extracting(Dropped::describe).contains("column public.user.email");

    CatalogDiff tables = diff("DROP TABLE measurement_2025; DROP TABLE \"user\" CASCADE");
    assertThat(tables.breaking()).containsExactly("drops table public.measurement_2025", "drops table public.user",
        "drops view public.user_names");
    assertThat(tables.dropped()).containsExactly(new Dropped("public", "measurement_2025", null),
        new Dropped("public", "user", null));
    assertThat(tables.dropped()).extracting(Dropped::describe).contains("table public.user");

    CatalogDiff views = diff("DROP VIEW user_names; DROP MATERIALIZED VIEW item_codes");
    assertThat(views.breaking()).containsExactly("drops view public.item_codes", "drops view public.user_names");
    assertThat(views.dropped()).isEmpty();
  }

  @Test
  void flywaysHistoryAndTheCoordinatorsSchemaAreNotCompared() throws SQLException {
    assertThat(diff("""
        ALTER TABLE flyway_schema_history ADD COLUMN z int NOT NULL;
        DROP TABLE app.flyway_schema_history;
        ALTER TABLE lockstep.fence ADD COLUMN q int NOT NULL;
        ALTER TABLE lockstep.fence RENAME COLUMN id TO fence_id;
        """)).isEqualTo(new CatalogDiff(List.of(), List.of()));
    try (Connection connection = db.connect()) {
      CatalogSnapshot snapshot = CatalogSnapshot.read(connection);
      assertThat(snapshot.table("public", "flyway_schema_history")).as("the rules see it").isPresent();
      assertThat(CatalogDiff.relations(snapshot).values()).extracting(Relation::name)
          .containsExactly(new TableName("app", "item"), new TableName("public", "audit"),
              new TableName("public", "measurement"), new TableName("public", "measurement_2025"),
              new TableName("public", "typed"), new TableName("public", "user"), new TableName("public", "item_codes"),
              new TableName("public", "user_names"));
    }
  }

  @Test
  void theFullSnapshotAndTheRelationsOnlyReadGiveTheSameDiff() throws SQLException {
    String migration = """
        ALTER TABLE "user" RENAME COLUMN name TO full_name;
        ALTER TABLE "user" ADD CONSTRAINT adult CHECK (age >= 18);
        ALTER TABLE audit ADD COLUMN actor text NOT NULL;
        DROP VIEW user_names;
        ALTER TABLE "user" DROP COLUMN email;
        """;
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      CatalogSnapshot fullBefore = CatalogSnapshot.read(connection);
      CatalogSnapshot before = CatalogSnapshot.readRelations(connection);
      execute(connection, migration);
      CatalogDiff full = CatalogDiff.between(fullBefore, CatalogSnapshot.read(connection));
      assertThat(CatalogDiff.between(before, CatalogSnapshot.readRelations(connection))).isEqualTo(full);
      assertThat(full.breaking()).hasSize(5);
      connection.rollback();
    }
  }

  /** The diff of {@code migration}, run in a transaction between two relations-only snapshots, then rolled back. */
  private static CatalogDiff diff(String migration) throws SQLException {
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      CatalogSnapshot before = CatalogSnapshot.readRelations(connection);
      execute(connection, migration);
      CatalogDiff diff = CatalogDiff.between(before, CatalogSnapshot.readRelations(connection));
      connection.rollback();
      return diff;
    }
  }

  private static void execute(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }
}
