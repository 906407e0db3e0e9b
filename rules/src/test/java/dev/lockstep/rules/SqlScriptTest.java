package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.rules.SqlScript.Kind;
import dev.lockstep.rules.SqlScript.Statement;
import dev.lockstep.testkit.TestCorpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SqlScriptTest {

  @Test
  void anOuterBeginCommitWrapperIsLeftOutOfTheBody() {
    SqlScript script = SqlScript.parse("BEGIN;\nCREATE TABLE wrapped (id bigint PRIMARY KEY);\nCOMMIT;\n");
    assertThat(script.wrapped()).isTrue();
    assertThat(script.body()).extracting(Statement::sql).containsExactly("CREATE TABLE wrapped (id bigint PRIMARY KEY)");
    assertThat(script.body().get(0).line()).isEqualTo(2);
    assertThat(script.transactionControl()).isEmpty();
    assertThat(script.transactional()).isTrue();
    assertThat(script.statements()).hasSize(3);
  }

  @Test
  void startTransactionAndEndAreAWrapperToo() {
    SqlScript script = SqlScript.parse("start transaction isolation level serializable; create table t (x int); end;");
    assertThat(script.wrapped()).isTrue();
    assertThat(script.body()).extracting(Statement::sql).containsExactly("create table t (x int)");
  }

  /** ReportPortal's V1 and V2 end with a bare COMMIT: the file is one transaction, as inside the release's. */
  @Test
  void aLoneTrailingCommitIsAWrapper() {
    SqlScript script = SqlScript.parse("CREATE TABLE a (x int);\nCREATE TABLE b (x int);\n\nCOMMIT;");
    assertThat(script.wrapped()).isTrue();
    assertThat(script.body()).hasSize(2);
    assertThat(script.transactional()).isTrue();
  }

  @Test
  void aBeginThatNothingEndsIsTransactionControl() {
    SqlScript script = SqlScript.parse("BEGIN;\nCREATE TABLE t (x int);");
    assertThat(script.wrapped()).isFalse();
    assertThat(script.transactionControl()).extracting(Statement::describe).containsExactly("BEGIN on line 1");
    assertThat(script.transactional()).isFalse();
  }

  @Test
  void twoTransactionsInOneFileAreNotAWrapper() {
    SqlScript script = SqlScript.parse("BEGIN;\nCREATE TABLE a (x int);\nCOMMIT;\nBEGIN;\nCREATE TABLE b (x int);\nCOMMIT;\n");
    assertThat(script.wrapped()).isFalse();
    assertThat(script.transactionControl()).extracting(Statement::describe)
        .containsExactly("BEGIN on line 1", "COMMIT on line 3", "BEGIN on line 4", "COMMIT on line 6");
  }

  @ParameterizedTest
  @ValueSource(strings = {"COMMIT", "commit work", "END", "ROLLBACK", "ROLLBACK TO SAVEPOINT s", "ABORT", "SAVEPOINT s",
      "RELEASE SAVEPOINT s", "RELEASE s", "PREPARE TRANSACTION 'x'", "COMMIT PREPARED 'x'", "ROLLBACK PREPARED 'x'",
      "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
      "START TRANSACTION"})
  void transactionControlInTheMiddleIsFound(String control) {
    SqlScript script = SqlScript.parse("CREATE TABLE a (x int);\n" + control + ";\nCREATE TABLE b (x int);\n");
    assertThat(script.transactionControl()).hasSize(1);
    assertThat(script.transactionControl().get(0).line()).isEqualTo(2);
    assertThat(script.transactional()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "COMMENT ON TABLE t IS 'rebuilt CONCURRENTLY; then COMMIT; VACUUM'",
      "SELECT E'it\\'s; COMMIT; CREATE INDEX CONCURRENTLY'",
      "SELECT 'it''s; COMMIT'",
      "DO $$ BEGIN PERFORM 1; COMMIT; END $$",
      "DO $body$ BEGIN EXECUTE $$VACUUM$$; COMMIT; END $body$",
      "CREATE INDEX t_x ON t (x) /* CONCURRENTLY; COMMIT; /* nested; */ VACUUM; */",
      "CREATE INDEX t_x ON t (x) -- not CONCURRENTLY; COMMIT;",
      "SELECT 1 AS \"COMMIT; VACUUM\"",
      "SET search_path = app, public",
      "SET LOCAL lock_timeout = '1s'",
      "PREPARE q AS SELECT 1",
      "REFRESH MATERIALIZED VIEW CONCURRENTLY totals",
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END",
      "START_TIME_UPDATE()"})
  void quotedTextCommentsAndBodiesAreNotStatements(String sql) {
    SqlScript script = SqlScript.parse(sql + ";");
    assertThat(script.statements()).hasSize(1);
    assertThat(script.statements().get(0).kind()).isEqualTo(Kind.ORDINARY);
    assertThat(script.transactional()).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"CREATE INDEX CONCURRENTLY t_x ON t (x)", "create unique index concurrently t_x on t (x)",
      "DROP INDEX CONCURRENTLY t_x", "REINDEX INDEX CONCURRENTLY t_x", "ALTER TABLE m DETACH PARTITION m_1 CONCURRENTLY",
      "VACUUM ANALYZE t", "CREATE DATABASE x", "DROP TABLESPACE x", "ALTER SYSTEM SET work_mem = '8MB'",
      "REINDEX DATABASE app", "DISCARD ALL", "CLUSTER"})
  void statementsPostgresRefusesInATransactionAreFound(String sql) {
    SqlScript script = SqlScript.parse("CREATE TABLE a (x int);\n" + sql + ";\n");
    assertThat(script.nonTransactional()).extracting(Statement::line).containsExactly(2);
    assertThat(script.transactionControl()).isEmpty();
    assertThat(script.transactional()).isFalse();
  }

  @Test
  void aCallIsItsOwnKindAndRunsInATransaction() {
    SqlScript script = SqlScript.parse("-- fill the new column\nCALL fill_attachment_creation_date();");
    assertThat(script.calls()).extracting(Statement::describe).containsExactly("CALL on line 2");
    assertThat(script.transactional()).isTrue();
  }

  @Test
  void commentOnlyTextIsNoStatementAndLinesCountFromCode() {
    SqlScript script = SqlScript.parse("/* header\n spanning lines */\n-- and more\n\nCREATE TABLE t (x int); -- trailing\n");
    assertThat(script.statements()).extracting(Statement::line).containsExactly(5);
    assertThat(script.statementAt(7).line()).isEqualTo(5);
  }

  /**
   * Every file of a real 132-migration chain: the only transaction control is V1's and V2's trailing
   * COMMIT (a wrapper), V39's procedure body commits inside its dollar quotes, and V40 calls it.
   */
  @Test
  void theReportPortalChainClassifiesAsItReallyIs(@TempDir Path dir) throws Exception {
    Path corpus = TestCorpus.copy("reportportal", dir);
    List<String> wrapped = new ArrayList<>();
    List<String> control = new ArrayList<>();
    List<String> calls = new ArrayList<>();
    int statements = 0;
    for (String file : TestCorpus.files("reportportal")) {
      if (!file.endsWith(".sql")) {
        continue;
      }
      SqlScript script = SqlScript.parse(Files.readString(corpus.resolve(file)));
      statements += script.statements().size();
      if (script.wrapped()) {
        wrapped.add(file);
      }
      script.transactionControl().forEach(s -> control.add(file + ": " + s.describe()));
      script.calls().forEach(s -> calls.add(file));
    }
    assertThat(wrapped).containsExactlyInAnyOrder("V1__initialize_schema.sql", "V2__initialize_quartz_schema.sql");
    assertThat(control).isEmpty();
    assertThat(calls).containsExactly("V40__attachment_creation_date_fill.sql");
    assertThat(statements).isGreaterThan(1000);
  }
}
