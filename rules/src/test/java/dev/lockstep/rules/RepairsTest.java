package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import java.util.List;
import org.junit.jupiter.api.Test;

class RepairsTest {
  @Test
  void recognisesStatementsThatCannotRunInATransaction() {
    for (String sql : List.of(
        "REINDEX INDEX CONCURRENTLY \"public\".\"user_email\"",
        "DROP INDEX CONCURRENTLY \"public\".\"user_email_ccnew\"",
        "create index concurrently on t (x)",
        "ALTER TABLE m DETACH PARTITION m_2024 CONCURRENTLY",
        "VACUUM ANALYZE \"public\".\"user\"",
        "CREATE DATABASE x",
        "DROP TABLESPACE cold",
        "ALTER SYSTEM SET work_mem = '64MB'",
        "REINDEX DATABASE app",
        "ALTER TABLE t ADD COLUMN x int; CREATE INDEX CONCURRENTLY ON t (x)")) {
      assertThat(Repairs.isTransactional(sql)).as(sql).isFalse();
      assertThat(Repairs.undoneByRollback(sql)).as(sql).isFalse();
    }
  }

  @Test
  void keywordsInLiteralsNamesAndCommentsDoNotCount() {
    for (String sql : List.of(
        "ALTER TABLE \"public\".\"user\" ADD PRIMARY KEY (\"id\")",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY totals",
        "CREATE INDEX \"concurrently\" ON t (x)",
        "COMMENT ON TABLE t IS 'rebuilt with REINDEX CONCURRENTLY; then VACUUM'",
        "CREATE INDEX t_x ON t (x) -- not CONCURRENTLY: we are in a transaction",
        "CREATE INDEX t_x ON t (x) /* CONCURRENTLY /* nested */ VACUUM */",
        "DO $$ BEGIN PERFORM 'VACUUM'; END $$",
        "DO $body$ CREATE INDEX CONCURRENTLY $body$",
        "SELECT E'it''s \\' CONCURRENTLY'")) {
      assertThat(Repairs.isTransactional(sql)).as(sql).isTrue();
    }
  }

  @Test
  void setvalRunsInATransactionButARollbackDoesNotUndoIt() {
    String setval = "SELECT setval('\"public\".\"user_id_seq\"', 100)";
    assertThat(Repairs.isTransactional(setval)).isTrue();
    assertThat(Repairs.undoneByRollback(setval)).isFalse();
    assertThat(Repairs.undoneByRollback("ALTER TABLE \"setval\" ADD PRIMARY KEY (id)")).isTrue();
  }

  @Test
  void splitsFindingsByWhereTheirRepairsRun() {
    Finding key = finding("public.user", "ALTER TABLE \"public\".\"user\" ADD PRIMARY KEY (\"id\")");
    Finding sequence = finding("public.user_id_seq", "SELECT setval('\"public\".\"user_id_seq\"', 100)");
    Finding index = finding("public.user_email", "REINDEX INDEX CONCURRENTLY \"public\".\"user_email\"");
    Finding none = new Finding("r", Severity.INFO, "public.x", "fyi", List.of());
    List<Finding> all = List.of(key, sequence, index, none);

    assertThat(Repairs.inTransaction(all)).containsExactly(key, sequence, none);
    assertThat(Repairs.outsideTransaction(all)).containsExactly(index);
    assertThat(Repairs.rehearsable(all)).containsExactly(key, none);
  }

  @Test
  void splitsStatementsOnlyAtSemicolonsThatAreCode() {
    assertThat(SqlLexer.statements("SELECT ';'; SELECT \"a;b\" -- ;\n; /* ; */ SELECT $$;$$;;"))
        .containsExactly("SELECT ';'", "SELECT \"a;b\" -- ;", "/* ; */ SELECT $$;$$");
    assertThat(SqlLexer.words("select \"Quoted\", bare_1, 12abc, $1 from t")).containsExactly("SELECT", "BARE_1", "FROM", "T");
  }

  private static Finding finding(String object, String sql) {
    return new Finding("r", Severity.WARN, object, "fix", List.of(sql));
  }
}
