package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SqlTest {
  @Test
  void quotesEveryIdentifierAndDoublesEmbeddedQuotes() {
    assertThat(Sql.quoteIdent("user")).isEqualTo("\"user\"");
    assertThat(Sql.quoteIdent("order line")).isEqualTo("\"order line\"");
    assertThat(Sql.quoteIdent("say \"hi\"")).isEqualTo("\"say \"\"hi\"\"\"");
    assertThat(Sql.quoteIdent("x\"; DROP TABLE t; --")).isEqualTo("\"x\"\"; DROP TABLE t; --\"");
    assertThat(Sql.quoteIdent("Mixed")).isEqualTo("\"Mixed\"");
    assertThat(Sql.qualified("public", "user")).isEqualTo("\"public\".\"user\"");
  }

  @Test
  void refusesWhatPostgresCannotName() {
    assertThatThrownBy(() -> Sql.quoteIdent("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Sql.quoteIdent(null)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Sql.quoteIdent("a\0b")).isInstanceOf(IllegalArgumentException.class);
  }
}
