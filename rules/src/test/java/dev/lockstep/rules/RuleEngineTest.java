package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.TreeMap;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Map;
import java.util.Set;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class RuleEngineTest {
  static final String[] BUILT_IN =
      {"failed-migration", "missing-primary-key", "sequence-behind", "invalid-index", "blocking-sessions"};

  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass().emptiedBeforeEach();

  @BeforeEach
  void oneTableThatLostItsKey() {
    db.execute("CREATE TABLE \"user\" (id int, name text); INSERT INTO \"user\" VALUES (1, 'a'), (2, 'b')");
  }

  @Test
  void serviceLoaderFindsTheBuiltInRules() {
    assertThat(new RuleEngine().rules()).extracting(Rule::id).containsExactly(BUILT_IN);
  }

  @Test
  void rulesPassedInRunAfterTheLoadedOnes() {
    Rule extra = rule("extra", (snapshot, connection) -> List.of());
    assertThat(new RuleEngine(List.of(extra)).rules()).extracting(Rule::id)
        .containsExactly("failed-migration", "missing-primary-key", "sequence-behind", "invalid-index",
            "blocking-sessions", "extra");
  }

  @Test
  void twoRulesWithOneIdAreRefused() {
    Rule impostor = rule("missing-primary-key", (snapshot, connection) -> List.of());
    assertThatThrownBy(() -> new RuleEngine(List.of(impostor)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("two rules share the id 'missing-primary-key'");
  }

  @Test
  void aRuleThatThrowsBecomesABlockingFindingAndHidesNoOther() throws SQLException {
    Rule broken = rule("broken", (snapshot, connection) -> {
      throw new IllegalStateException("no idea what to do");
    });
    Rule badSql = rule("bad-sql", (snapshot, connection) -> {
      try (Statement statement = connection.createStatement()) {
        statement.executeQuery("SELECT * FROM nowhere");
      }
      return List.of();
    });
    Rule fine = rule("fine", (snapshot, connection) -> {
      try (Statement statement = connection.createStatement()) {
        statement.executeQuery("SELECT count(*) FROM \"user\"").close(); // works after bad-sql's error
      }
      return List.of(new Finding("fine", Severity.INFO, "public.user", "all fine", List.of()));
    });
    RuleEngine engine = new RuleEngine(List.of(broken, badSql, fine));

    for (boolean autocommit : List.of(true, false)) {
      try (Connection connection = db.connect()) {
        connection.setAutoCommit(autocommit);
        Inspection inspection = engine.inspect(connection);

        assertThat(inspection.findings()).extracting(Finding::rule)
            .containsExactly("missing-primary-key", "broken", "bad-sql", "fine");
        assertThat(inspection.blocking()).extracting(Finding::rule).containsExactly("broken", "bad-sql");
        assertThat(inspection.findings().get(1)).isEqualTo(new Finding("broken", Severity.BLOCK, "rule broken",
            "rule broken failed, so the database could not be checked: IllegalStateException: no idea what to do;"
                + " fix or remove the rule, then run the release again", List.of()));
        assertThat(inspection.findings().get(2).message()).startsWith("rule bad-sql failed, so the database could not"
            + " be checked: ERROR: relation \"nowhere\" does not exist").contains("(SQLSTATE 42P01)");
        assertThat(inspection.repairs()).containsExactly("ALTER TABLE \"public\".\"user\" ADD PRIMARY KEY (\"id\")");
        if (!autocommit) {
          connection.commit(); // the caller's transaction is still usable
        }
      }
    }
  }

  @Test
  void inspectionChangesNothingEvenWhenARuleTries() throws SQLException {
    Rule sneaky = rule("sneaky", (snapshot, connection) -> {
      try (Statement statement = connection.createStatement()) {
        statement.execute("CREATE TABLE sneaky (id int)");
      }
      return List.of();
    });
    RuleEngine engine = new RuleEngine(List.of(sneaky));

    try (Connection connection = db.connect()) {
      int isolation = connection.getTransactionIsolation();
      Inspection inspection = engine.inspect(connection);
      assertThat(inspection.blocking()).singleElement()
          .satisfies(finding -> assertThat(finding.message()).contains("read-only transaction"));
      assertThat(connection.getAutoCommit()).isTrue();
      assertThat(connection.isReadOnly()).isFalse();
      assertThat(connection.getTransactionIsolation()).isEqualTo(isolation);

      connection.setAutoCommit(false);
      assertThat(engine.inspect(connection).blocked()).isFalse(); // in a savepoint, so it could...
      connection.commit();
    }
    assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'sneaky'")).isZero(); // ...but was undone
  }

  @Test
  void applyRunsInTheCallersTransactionOnly() throws SQLException {
    RuleEngine engine = new RuleEngine();
    try (Connection connection = db.connect()) {
      List<Finding> findings = engine.inspect(connection).findings();
      assertThatThrownBy(() -> engine.apply(connection, findings))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("setAutoCommit(false)");
    }
    assertThat(db.queryLong("SELECT count(*) FROM pg_constraint WHERE conname = 'user_pkey'")).isZero();
  }

  @Test
  void applyRefusesWhileAFindingBlocks() throws SQLException {
    Finding blocking = new Finding("x", Severity.BLOCK, "public.user", "duplicates", List.of());
    Finding repair = new Finding("y", Severity.WARN, "public.user", "fixable", List.of("SELECT 1"));
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      assertThatThrownBy(() -> new RuleEngine().apply(connection, List.of(repair, blocking)))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blocks the release");
    }
  }

  @Test
  void aFailingRepairNamesItsStatementAndLeavesTheRollbackToTheCaller() throws SQLException {
    Finding good = new Finding("y", Severity.WARN, "public.user", "fixable",
        List.of("ALTER TABLE \"public\".\"user\" ADD PRIMARY KEY (\"id\")"));
    Finding bad = new Finding("z", Severity.WARN, "public.ghost", "ghost", List.of("ALTER TABLE ghost ADD PRIMARY KEY (id)"));
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      assertThatThrownBy(() -> new RuleEngine().apply(connection, List.of(good, bad)))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("repair of public.ghost (rule z) failed")
          .hasMessageContaining("statement: ALTER TABLE ghost ADD PRIMARY KEY (id)")
          .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("42P01"));
      connection.rollback();
    }
    assertThat(db.queryLong("SELECT count(*) FROM pg_constraint WHERE conname = 'user_pkey'")).isZero();
  }

  @Test
  void theContextReachesEveryRule() throws SQLException {
    InspectionContext context = InspectionContext.empty()
        .withMigrationFiles("the migrations folder migrations", new TreeMap<>(Map.of("V1__a.sql", "SELECT 1;")))
        .withTablesTouched(Set.of("public.user")).withDeclaredKeys(Map.of("user", "id"))
        .withLongTransaction(Duration.ofSeconds(5));
    List<InspectionContext> seen = new ArrayList<>();
    Rule curious = new Rule() {
      @Override
      public String id() {
        return "curious";
      }

      @Override
      public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection) {
        throw new AssertionError("the engine calls the three-argument form");
      }

      @Override
      public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection, InspectionContext given) {
        seen.add(given);
        return List.of();
      }
    };
    RuleEngine engine = new RuleEngine(List.of(curious));
    try (Connection connection = db.connect()) {
      engine.inspect(connection, context);
      engine.inspect(connection);
    }
    assertThat(seen).containsExactly(context, InspectionContext.empty());
    assertThat(InspectionContext.empty().tablesTouched()).isNull();
    assertThat(InspectionContext.empty().longTransaction()).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void applyOutsideTransactionTakesOnlyWhatCannotRunInOne() throws SQLException {
    Finding key = new Finding("y", Severity.WARN, "public.user", "fixable",
        List.of("ALTER TABLE \"public\".\"user\" ADD PRIMARY KEY (\"id\")"));
    try (Connection connection = db.connect()) {
      assertThatThrownBy(() -> new RuleEngine().applyOutsideTransaction(connection, List.of(key)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("the repair of public.user (rule y) can run in a transaction, so it belongs in apply, where it"
              + " commits with the fencing check: ALTER TABLE \"public\".\"user\" ADD PRIMARY KEY (\"id\")");
      assertThat(new RuleEngine().applyOutsideTransaction(connection, List.of())).isEmpty();
    }
    assertThat(db.queryLong("SELECT count(*) FROM pg_constraint WHERE conname = 'user_pkey'")).isZero();
  }

  @Test
  void inspectionHelpersKeepRuleOrder() {
    Inspection inspection = new Inspection(List.of(
        new Finding("a", Severity.WARN, "public.a", "a", List.of("ALTER 1", "ALTER 2")),
        new Finding("b", Severity.BLOCK, "public.b", "b", List.of()),
        new Finding("c", Severity.INFO, "public.c", "c", List.of("ALTER 3"))), 5);
    assertThat(inspection.repairs()).containsExactly("ALTER 1", "ALTER 2", "ALTER 3");
    assertThat(inspection.blocking()).extracting(Finding::object).containsExactly("public.b");
    assertThat(inspection.blocked()).isTrue();
    assertThat(new Inspection(List.of(), 0).blocked()).isFalse();
  }

  /** The body of a test rule. */
  interface Body {
    List<Finding> inspect(CatalogSnapshot snapshot, Connection connection) throws SQLException;
  }

  private static Rule rule(String id, Body body) {
    return new Rule() {
      @Override
      public String id() {
        return id;
      }

      @Override
      public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection) throws SQLException {
        return body.inspect(snapshot, connection);
      }
    };
  }
}
