package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.rules.CatalogSnapshot.Relation;
import dev.lockstep.rules.oldshape.OldCatalogDiff;
import dev.lockstep.rules.oldshape.OldSchemaShape;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** TEMPORARY: the old SchemaShape diff against the new one. Not committed. */
class OldShapeEquivalenceTest {
  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass().emptiedBeforeEach("app", "lockstep", "pgxtemp");

  static final String BASE = """
      CREATE SCHEMA app;
      CREATE TABLE "user" (id bigint PRIMARY KEY, name text, nickname text, age int, email text);
      INSERT INTO "user" VALUES (1, 'a', 'x', 20, 'e');
      CREATE TABLE audit (id bigint PRIMARY KEY, note text);
      CREATE TABLE app.item (id int, code text, price numeric(10,2) DEFAULT 0);
      CREATE TABLE m (id int, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE VIEW user_names AS SELECT id, name FROM "user";
      CREATE MATERIALIZED VIEW item_codes AS SELECT id, code FROM app.item;
      CREATE INDEX ON item_codes (id);
      CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version text);
      CREATE TABLE app.flyway_schema_history (x int);
      CREATE SCHEMA lockstep; CREATE TABLE lockstep.fence (id int);
      CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
      CREATE TABLE "Odd \"\"name\"\"" ("a col" int);
      CREATE SEQUENCE s;
      CREATE TYPE mood AS ENUM ('a', 'b');
      CREATE TABLE typed (m mood, v varchar(10), n numeric(5,1)[], t timestamptz);
      """;

  static final List<String> STEPS = List.of(
      "ALTER TABLE \"user\" RENAME COLUMN name TO full_name",
      "ALTER TABLE \"user\" ALTER COLUMN age TYPE bigint",
      "ALTER TABLE \"user\" ALTER COLUMN nickname SET NOT NULL",
      "ALTER TABLE audit ADD COLUMN actor text NOT NULL",
      "ALTER TABLE audit ADD COLUMN ok boolean NOT NULL DEFAULT true",
      "ALTER TABLE \"user\" ADD CONSTRAINT adult CHECK (age >= 18)",
      "ALTER TABLE \"user\" ADD CONSTRAINT later CHECK (age > 0) NOT VALID",
      "ALTER TABLE app.item ADD PRIMARY KEY (id)",
      "ALTER TABLE app.item ADD CONSTRAINT code_u UNIQUE (code)",
      "CREATE CONSTRAINT TRIGGER ct AFTER INSERT ON audit DEFERRABLE FOR EACH ROW EXECUTE FUNCTION f()",
      "ALTER TABLE audit RENAME TO audit_log",
      "DROP VIEW user_names",
      "ALTER MATERIALIZED VIEW item_codes RENAME TO codes",
      "ALTER MATERIALIZED VIEW item_codes RENAME COLUMN code TO c",
      "DROP MATERIALIZED VIEW item_codes",
      "DROP TABLE m_2025",
      "ALTER TABLE m DROP COLUMN id",
      "ALTER TABLE m RENAME TO mm",
      "ALTER TABLE \"user\" DROP COLUMN email",
      "ALTER TABLE flyway_schema_history ADD COLUMN z int NOT NULL",
      "DROP TABLE app.flyway_schema_history",
      "DROP TABLE flyway_schema_history",
      "ALTER TABLE lockstep.fence ADD COLUMN q int NOT NULL",
      "DROP TABLE lockstep.fence",
      "CREATE TABLE newt (id int NOT NULL, x text)",
      "ALTER VIEW user_names ALTER COLUMN name SET DEFAULT 'x'",
      "ALTER TABLE \"user\" ADD COLUMN g bigint GENERATED ALWAYS AS (age * 2) STORED NOT NULL",
      "ALTER TABLE app.item ADD COLUMN ident int NOT NULL GENERATED ALWAYS AS IDENTITY",
      "ALTER TABLE \"user\" ADD COLUMN d int NOT NULL DEFAULT 1",
      "ALTER TABLE audit SET SCHEMA app",
      "ALTER TABLE app.item ADD PRIMARY KEY (id); ALTER TABLE app.item ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES \"user\"(id)",
      "ALTER TABLE app.item ADD CONSTRAINT fk2 FOREIGN KEY (id) REFERENCES \"user\"(id) NOT VALID",
      "DROP TABLE \"user\" CASCADE",
      "DROP TABLE app.item CASCADE",
      "ALTER TABLE \"user\" DROP CONSTRAINT user_pkey",
      "ALTER TABLE m ALTER COLUMN at DROP NOT NULL",
      "ALTER TABLE \"Odd \"\"name\"\"\" RENAME \"a col\" TO \"b col\"",
      "ALTER TABLE \"Odd \"\"name\"\"\" ADD \"c\" int NOT NULL",
      "DROP TABLE \"Odd \"\"name\"\"\"",
      "ALTER TABLE typed ALTER COLUMN v TYPE varchar(20)",
      "ALTER TABLE typed ALTER COLUMN n TYPE numeric(6,1)[]",
      "ALTER TABLE typed ALTER COLUMN t TYPE timestamp",
      "ALTER TYPE mood RENAME TO feeling",
      "ALTER TABLE typed ADD CONSTRAINT ex EXCLUDE USING btree (v WITH =)",
      "ALTER TABLE audit ADD COLUMN x int; ALTER TABLE audit DROP COLUMN x",
      "CREATE VIEW v2 AS SELECT 1 AS one; CREATE TABLE t2 (a int NOT NULL); ALTER TABLE t2 ADD CONSTRAINT c CHECK (a > 0)",
      "ALTER TABLE \"user\" ALTER COLUMN name SET DEFAULT 'z'",
      "ALTER TABLE \"user\" ALTER COLUMN age SET NOT NULL, ADD COLUMN q int NOT NULL DEFAULT 0, DROP COLUMN nickname"
  );

  @Test
  void everyStepGivesTheSameDiff() throws Exception {
    List<String> report = new ArrayList<>();
    for (String step : STEPS) {
      db.execute("DROP SCHEMA IF EXISTS app CASCADE; DROP SCHEMA IF EXISTS lockstep CASCADE; DROP SCHEMA IF EXISTS pgxtemp CASCADE;"
          + " DROP SCHEMA public CASCADE; CREATE SCHEMA public");
      db.execute(BASE);
      try (Connection c = db.connect()) {
        c.setAutoCommit(false);
        OldSchemaShape oldBefore = OldSchemaShape.read(c);
        CatalogSnapshot newBefore = CatalogSnapshot.readRelations(c);
        assertThat(shape(newBefore)).as(step + " before").isEqualTo(shape(oldBefore));
        try (Statement s = c.createStatement()) {
          s.execute(step);
        }
        OldSchemaShape oldAfter = OldSchemaShape.read(c);
        CatalogSnapshot newAfter = CatalogSnapshot.readRelations(c);
        assertThat(shape(newAfter)).as(step + " after").isEqualTo(shape(oldAfter));
        OldCatalogDiff old = OldCatalogDiff.between(oldBefore, oldAfter);
        CatalogDiff now = CatalogDiff.between(newBefore, newAfter);
        assertThat(new TreeSet<>(now.breaking())).as(step).isEqualTo(new TreeSet<>(old.breaking()));
        assertThat(now.breaking()).as(step).hasSameSizeAs(old.breaking());
        assertThat(now.dropped().stream().map(CatalogDiff.Dropped::describe).sorted().toList()).as(step)
            .isEqualTo(old.dropped().stream().map(OldCatalogDiff.Dropped::describe).sorted().toList());
        report.add(step + " -> " + now.breaking() + " " + now.dropped());
        c.rollback();
      }
    }
    report.forEach(System.out::println);
  }

  static TreeSet<String> shape(OldSchemaShape s) {
    TreeSet<String> out = new TreeSet<>();
    for (OldSchemaShape.Relation r : s.relations().values()) {
      out.add(r.oid() + " " + r.qualified() + " " + (r.kind() == 'v' || r.kind() == 'm' ? "view" : "table") + " " + r.kind());
      r.columns().values().forEach(col -> out.add(r.oid() + " col " + col.number() + " " + col.name() + " " + col.type() + " "
          + col.notNull() + " " + col.hasDefault()));
      r.constraints().values().forEach(k -> out.add(r.oid() + " con " + k.name() + " " + k.type() + " " + k.validated()));
    }
    return out;
  }

  static TreeSet<String> shape(CatalogSnapshot s) {
    TreeSet<String> out = new TreeSet<>();
    for (Relation r : CatalogDiff.relations(s).values()) {
      boolean view = r.kind() == Relation.Kind.VIEW || r.kind() == Relation.Kind.MATERIALIZED_VIEW;
      out.add(r.oid() + " " + r.name() + " " + (view ? "view" : "table") + " " + r.kind().code());
      r.columns().forEach(col -> out.add(r.oid() + " col " + col.position() + " " + col.name() + " " + col.type() + " "
          + !col.nullable() + " " + col.hasDefault()));
      if (r instanceof CatalogSnapshot.Table t) {
        t.constraints().forEach(k -> out.add(r.oid() + " con " + k.name() + " " + k.type().code() + " " + k.validated()));
      }
    }
    return out;
  }
}
