package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class InvalidIndexRuleTest {
  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass().emptiedBeforeEach("app's");

  private final RuleEngine engine = new RuleEngine();

  /** An expression that failed on one row during the concurrent build; the row was corrected since. */
  @Test
  void rebuildsAnIndexLeftInvalidOutsideTheTransaction() throws SQLException {
    db.execute("CREATE TABLE ratio (id int PRIMARY KEY, x int); INSERT INTO ratio VALUES (1, 1), (2, 0), (3, 4)");
    failsConcurrently("CREATE INDEX CONCURRENTLY ratio_inverse ON ratio ((1 / x))", "division by zero");
    db.execute("UPDATE ratio SET x = 2 WHERE id = 2");

    String repair = "REINDEX INDEX CONCURRENTLY \"public\".\"ratio_inverse\"";
    Finding finding = single();
    assertThat(finding).isEqualTo(new Finding("invalid-index", Severity.WARN, "public.ratio_inverse",
        "index public.ratio_inverse on public.ratio is invalid, left by a failed concurrent build: it slows every write"
            + " and is never used; it will be rebuilt with REINDEX CONCURRENTLY (outside the release's transaction)",
        List.of(repair)));
    assertThat(Repairs.isTransactional(finding)).isFalse();

    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      assertThatThrownBy(() -> engine.apply(connection, List.of(finding)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("the repair of public.ratio_inverse (rule invalid-index) cannot run inside a transaction: " + repair
              + "; pass it to applyOutsideTransaction on an autocommit connection (Repairs.outsideTransaction picks"
              + " such findings)");
      connection.rollback();
      assertThatThrownBy(() -> engine.applyOutsideTransaction(connection, List.of(finding)))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("autocommit");
      connection.setAutoCommit(true);
      assertThat(engine.applyOutsideTransaction(connection, List.of(finding))).containsExactly(repair);
    }
    assertThat(db.queryLong("SELECT count(*) FROM pg_index WHERE indexrelid = 'ratio_inverse'::regclass AND indisvalid"))
        .isEqualTo(1);
    assertThat(findings()).isEmpty();
  }

  @Test
  void anExpressionThatStillFailsBlocksWithTheError() throws SQLException {
    db.execute("CREATE TABLE ratio (id int PRIMARY KEY, x int); INSERT INTO ratio VALUES (1, 1), (2, 0)");
    failsConcurrently("CREATE INDEX CONCURRENTLY ratio_inverse ON ratio ((1 / x))", "division by zero");
    Finding finding = single();
    assertThat(finding.severity()).isEqualTo(Severity.BLOCK);
    assertThat(finding.message()).isEqualTo("index public.ratio_inverse on public.ratio is invalid, and rebuilding it"
        + " would fail: ERROR: division by zero; correct the rows it fails on, or drop the index in a migration, then"
        + " run the release again");
  }

  /** The classic: a unique index built concurrently over duplicates. */
  @Test
  void aUniqueIndexOverDuplicatesBlocksWithCountAndSamplesUntilTheyAreGone() throws SQLException {
    db.execute("""
        CREATE TABLE account (id int PRIMARY KEY, email text);
        INSERT INTO account SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 50) g;
        INSERT INTO account VALUES (51, 'u7@example.com'), (52, 'u9@example.com'), (53, 'u9@example.com'),
                                   (54, NULL), (55, NULL);
        """);
    failsConcurrently("CREATE UNIQUE INDEX CONCURRENTLY account_email ON account (email)", "could not create unique index");

    Finding finding = single();
    assertThat(finding).isEqualTo(new Finding("invalid-index", Severity.BLOCK, "public.account_email",
        "index public.account_email on public.account is invalid, and rebuilding it would fail: unique index over 2"
            + " duplicated keys (e.g. u7@example.com, u9@example.com); remove the duplicates, or drop the index in a"
            + " migration, then run the release again", List.of()));
    try (Connection connection = db.connect()) {
      assertThatThrownBy(() -> engine.applyOutsideTransaction(connection, List.of(finding)))
          .hasMessageContaining("blocks the release");
    }

    db.execute("DELETE FROM account WHERE id IN (51, 52, 53)");
    Finding fixable = single();
    assertThat(fixable.severity()).isEqualTo(Severity.WARN);
    assertThat(fixable.message()).contains("never used, and enforces nothing");
    db.applyOutsideTransaction(engine, List.of(fixable));
    assertThat(findings()).isEmpty();
    assertThatThrownBy(() -> db.execute("INSERT INTO account VALUES (60, 'u1@example.com')"))
        .hasMessageContaining("duplicate key value violates unique constraint \"account_email\"");
  }

  @Test
  void countsDuplicatesTheWayTheIndexSeesThem() throws SQLException {
    String table = Sql.qualified("app's", "the \"pairs\"");
    db.execute("""
        CREATE SCHEMA "app's";
        CREATE TABLE %1$s ("left" int, "right side" text, live boolean);
        INSERT INTO %1$s VALUES (1, 'a', true), (1, 'a', true), (1, 'a', false), (2, NULL, true), (2, NULL, true),
                                (3, 'A', true), (3, 'a', true);
        """.formatted(table));
    // Partial, on an expression and a quoted column: duplicates are (1, a) only; NULLs are distinct.
    failsConcurrently("CREATE UNIQUE INDEX CONCURRENTLY \"pair key\" ON " + table + " (\"left\", lower(\"right side\"))"
        + " WHERE live", "could not create unique index");
    Finding finding = single();
    assertThat(finding.object()).isEqualTo("app's.pair key");
    assertThat(finding.message()).contains("unique index over 2 duplicated keys (e.g. (1, a), (3, a))");

    db.execute("DELETE FROM " + table + " WHERE \"left\" IN (1, 3)");
    Finding fixable = single();
    assertThat(fixable.repair()).containsExactly("REINDEX INDEX CONCURRENTLY \"app's\".\"pair key\"");
    db.applyOutsideTransaction(engine, List.of(fixable));
    assertThat(findings()).isEmpty();
  }

  @Test
  void nullsNotDistinctCountsNullKeysAsDuplicates() throws SQLException {
    db.execute("CREATE TABLE t (code text); INSERT INTO t VALUES (NULL), (NULL), ('x')");
    failsConcurrently("CREATE UNIQUE INDEX CONCURRENTLY t_code ON t (code) NULLS NOT DISTINCT", "could not create");
    assertThat(single().message()).contains("unique index over 1 duplicated key (e.g. NULL)");
  }

  /** A failed REINDEX CONCURRENTLY leaves a {@code _ccnew} index beside the one it was rebuilding. */
  @Test
  void dropsTheLeftoverOfAFailedConcurrentReindex() throws SQLException {
    db.execute("CREATE TABLE t (code text); INSERT INTO t VALUES ('a'), ('a')");
    failsConcurrently("CREATE UNIQUE INDEX CONCURRENTLY t_code ON t (code)", "could not create");
    failsConcurrently("REINDEX INDEX CONCURRENTLY t_code", "could not create unique index \"t_code_ccnew\"");

    List<Finding> findings = findings();
    assertThat(findings).extracting(Finding::object).containsExactly("public.t_code", "public.t_code_ccnew");
    assertThat(findings.get(0).severity()).isEqualTo(Severity.BLOCK);
    assertThat(findings.get(1)).isEqualTo(new Finding("invalid-index", Severity.WARN, "public.t_code_ccnew",
        "index public.t_code_ccnew on public.t is invalid, a leftover of a failed REINDEX CONCURRENTLY of t_code; it will"
            + " be dropped (outside the release's transaction)",
        List.of("DROP INDEX CONCURRENTLY \"public\".\"t_code_ccnew\"")));

    db.execute("DELETE FROM t WHERE ctid = (SELECT min(ctid) FROM t)");
    List<Finding> fixable = findings();
    assertThat(fixable).allSatisfy(finding -> assertThat(finding.severity()).isEqualTo(Severity.WARN));
    db.applyOutsideTransaction(engine, fixable);
    assertThat(findings()).isEmpty();
    assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname LIKE 't_code%'")).isEqualTo(1);
  }

  @Test
  void anInvalidIndexOnAPartitionedTableIsOnlyReported() throws SQLException {
    db.execute("""
        CREATE TABLE m (id int, at date) PARTITION BY RANGE (at);
        CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        CREATE INDEX m_at ON ONLY m (at);
        """);
    Finding finding = single();
    assertThat(finding.severity()).isEqualTo(Severity.INFO);
    assertThat(finding.message()).contains("ALTER INDEX public.m_at ATTACH PARTITION");
    assertThat(finding.hasRepair()).isFalse();
  }

  private static void failsConcurrently(String sql, String error) {
    assertThatThrownBy(() -> db.execute(sql)).hasMessageContaining(error);
  }

  private List<Finding> findings() throws SQLException {
    return db.findings(engine, InvalidIndexRule.ID);
  }

  private Finding single() throws SQLException {
    List<Finding> findings = findings();
    assertThat(findings).hasSize(1);
    return findings.get(0);
  }
}
