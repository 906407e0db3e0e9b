package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.rules.CatalogSnapshot.TableName;
import org.junit.jupiter.api.Test;

class SqlTemplateTest {
  private static final TableName HOSTILE = new TableName("app's", "x\"; DROP TABLE y; --");

  @Test
  void placeholdersBecomeQuotedIdentifiers() {
    SqlTemplate template = SqlTemplate.parse("ALTER TABLE {table} RENAME TO {name}; COMMENT ON SCHEMA {schema} IS 'x'");
    assertThat(template.render(HOSTILE)).isEqualTo("ALTER TABLE \"app's\".\"x\"\"; DROP TABLE y; --\" RENAME TO"
        + " \"x\"\"; DROP TABLE y; --\"; COMMENT ON SCHEMA \"app's\" IS 'x'");
  }

  @Test
  void textThatOnlyLooksLikeAPlaceholderInsideLiteralsIsLeftAlone() {
    SqlTemplate template = SqlTemplate.parse("UPDATE {table} SET tags = '{a,b}', doc = '{\"k\": 1}' -- {whatever}");
    assertThat(template.render(new TableName("public", "t")))
        .isEqualTo("UPDATE \"public\".\"t\" SET tags = '{a,b}', doc = '{\"k\": 1}' -- {whatever}");
  }

  @Test
  void refusesPlaceholdersWhereAQuotedIdentifierIsNotSafe() {
    assertThatThrownBy(() -> SqlTemplate.parse("SELECT setval('{table}_id_seq', 1)"))
        .hasMessage("has placeholder {table} inside a string literal; placeholders become quoted identifiers, which"
            + " are only safe where an identifier stands");
    assertThatThrownBy(() -> SqlTemplate.parse("ALTER TABLE \"{name}_old\" ADD x int"))
        .hasMessageContaining("{name} inside a quoted name");
    assertThatThrownBy(() -> SqlTemplate.parse("DO $$ BEGIN EXECUTE 'DROP TABLE {table}'; END $$"))
        .hasMessageContaining("{table} inside a dollar-quoted string");
    assertThatThrownBy(() -> SqlTemplate.parse("SELECT E'\\' {schema}'"))
        .hasMessageContaining("{schema} inside a string literal");
  }

  @Test
  void refusesUnknownPlaceholdersAndUnterminatedQuotes() {
    assertThatThrownBy(() -> SqlTemplate.parse("ALTER TABLE {tabel} ADD x int"))
        .hasMessage("has unknown placeholder {tabel}; use {schema}, {name} or {table}");
    assertThatThrownBy(() -> SqlTemplate.parse("ALTER TABLE {table} ADD x text DEFAULT 'oops"))
        .hasMessageContaining("unterminated string literal");
    assertThatThrownBy(() -> SqlTemplate.parse(" ")).hasMessage("is empty");
  }

  @Test
  void quoteLiteralReadsBackExactly() {
    assertThat(Sql.quoteLiteral("\"public\".\"it's\"")).isEqualTo("'\"public\".\"it''s\"'");
    assertThat(Sql.quoteLiteral("a\\b")).isEqualTo("E'a\\\\b'");
  }
}
