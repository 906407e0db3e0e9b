package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.rules.CreatedObjects.Created;
import org.junit.jupiter.api.Test;

class CreatedObjectsTest {

  private static java.util.List<String> described(String sql) {
    return CreatedObjects.of(SqlScript.parse(sql)).stream().map(Created::describe).toList();
  }

  @Test
  void tablesIndexesSequencesViewsTypesSchemasAndExtensions() {
    assertThat(described("""
        CREATE TABLE users (id bigint PRIMARY KEY, email text);
        create unlogged table if not exists app.Sessions (id bigint);
        CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (email);
        CREATE INDEX sessions_id ON ONLY app.sessions (id);
        CREATE SEQUENCE app.invoice_no;
        CREATE VIEW active_users AS SELECT * FROM users;
        CREATE MATERIALIZED VIEW IF NOT EXISTS totals AS SELECT 1;
        CREATE TYPE mood AS ENUM ('happy', 'sad');
        CREATE DOMAIN positive AS int CHECK (VALUE > 0);
        CREATE SCHEMA IF NOT EXISTS reporting;
        CREATE EXTENSION IF NOT EXISTS pgcrypto;
        """)).containsExactly("table users", "table app.sessions", "index users_email", "index app.sessions_id",
        "sequence app.invoice_no", "view active_users", "materialized view totals", "type mood", "domain positive",
        "schema reporting", "extension pgcrypto");
  }

  @Test
  void quotedNamesKeepTheirCaseAndAThreePartNameDropsTheDatabase() {
    java.util.List<Created> created = CreatedObjects.of(SqlScript.parse(
        "CREATE TABLE \"Public\".\"User\"\"s\" (id int); CREATE TABLE shop.public.orders (id int);"));
    assertThat(created).extracting(Created::describe).containsExactly("table Public.User\"s", "table public.orders");
    assertThat(created.get(0).relation()).isEqualTo("\"Public\".\"User\"\"s\"");
    assertThat(created.get(1).relation()).isEqualTo("\"public\".\"orders\"");
  }

  @Test
  void columnsAndNamedConstraintsAddedToATable() {
    assertThat(described("""
        ALTER TABLE IF EXISTS ONLY public.users ADD COLUMN IF NOT EXISTS nickname text,
          ADD age int DEFAULT (1), ADD CONSTRAINT adult CHECK (age >= 18), ADD PRIMARY KEY (id),
          ALTER COLUMN email SET NOT NULL;
        ALTER TABLE users RENAME COLUMN email TO mail;
        """)).containsExactly("column public.users.nickname", "column public.users.age", "constraint public.users.adult");
  }

  @Test
  void commentsLiteralsFunctionBodiesTemporaryAndReplaceableObjectsCreateNothing() {
    assertThat(described("""
        -- CREATE TABLE in_a_comment (id int);
        /* CREATE TABLE in_a_block (id int); */
        SELECT 'CREATE TABLE in_a_string (id int)';
        CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE in_a_body (id int); END $$;
        CREATE TEMP TABLE scratch (id int);
        CREATE OR REPLACE VIEW v AS SELECT 1;
        CREATE INDEX ON users (email);
        INSERT INTO users VALUES (1, 'ada');
        """)).isEmpty();
  }

  @Test
  void anOuterWrapperIsReadThrough() {
    assertThat(described("BEGIN;\nCREATE TABLE wrapped (id int);\nCOMMIT;\n")).containsExactly("table wrapped");
    assertThat(CreatedObjects.of(SqlScript.parse("BEGIN;\nCREATE TABLE wrapped (id int);\nCOMMIT;\n")).get(0).line())
        .isEqualTo(2);
  }
}
