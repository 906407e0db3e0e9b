package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A rule test class's own database: created through testkit before the class's first test (named after
 * the class), dropped after its last, and, if asked, emptied before each test, so that no test sees
 * another's tables. It also runs the rules against that database the few ways the tests do, each on a
 * new connection. Register it on a static field, so that it spans the class; it runs before the class's
 * own {@code @BeforeAll} and {@code @BeforeEach} methods, which may fill the database.
 *
 * <pre>{@code
 * class InvalidIndexRuleTest {
 *   @RegisterExtension
 *   static final RuleTestDatabase db = RuleTestDatabase.perClass().emptiedBeforeEach("app's");
 *
 *   private final RuleEngine engine = new RuleEngine();
 *
 *   @Test
 *   void dropsTheLeftoverOfAFailedConcurrentReindex() throws SQLException {
 *     db.execute("CREATE TABLE t (code text); INSERT INTO t VALUES ('a'), ('b')");   // tables of this test only
 *     ...
 *     db.applyOutsideTransaction(engine, db.findings(engine, InvalidIndexRule.ID));
 *     assertThat(db.findings(engine, InvalidIndexRule.ID)).isEmpty();
 *   }
 * }
 * }</pre>
 */
final class RuleTestDatabase implements BeforeAllCallback, BeforeEachCallback, AfterAllCallback {
  /** Schemas dropped before each test besides {@code public}, which is recreated empty; null: nothing is. */
  private final List<String> droppedBeforeEach;
  private TestDatabase database;

  private RuleTestDatabase(List<String> droppedBeforeEach) {
    this.droppedBeforeEach = droppedBeforeEach;
  }

  /** A database for the class, kept as the tests leave it: for classes that fill it once in {@code @BeforeAll}. */
  static RuleTestDatabase perClass() {
    return new RuleTestDatabase(null);
  }

  /** The same database, whose {@code public} schema and the given other schemas are dropped before each test. */
  RuleTestDatabase emptiedBeforeEach(String... otherSchemas) {
    return new RuleTestDatabase(List.of(otherSchemas));
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    database = TestPostgres.instance().createDatabase(context.getRequiredTestClass().getSimpleName());
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (droppedBeforeEach != null) {
      StringBuilder sql = new StringBuilder();
      for (String schema : droppedBeforeEach) {
        sql.append("DROP SCHEMA IF EXISTS ").append(Sql.quoteIdent(schema)).append(" CASCADE; ");
      }
      execute(sql.append("DROP SCHEMA public CASCADE; CREATE SCHEMA public").toString());
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (database != null) {
      database.close();
    }
  }

  /** A new JDBC connection to the database, in autocommit; the caller closes it. */
  Connection connect() throws SQLException {
    return database().connect();
  }

  /** Runs {@code sql} (one or several statements separated by {@code ;}) on a new connection. */
  void execute(String sql) {
    database().execute(sql);
  }

  /** The first column of the first row of {@code sql}, as a long. */
  long queryLong(String sql) {
    return database().queryLong(sql);
  }

  String jdbcUrl() {
    return database().jdbcUrl();
  }

  String user() {
    return database().user();
  }

  String password() {
    return database().password();
  }

  /** What {@code engine} finds, on a new autocommit connection. */
  Inspection inspect(RuleEngine engine) throws SQLException {
    return inspect(engine, InspectionContext.empty());
  }

  /** What {@code engine} finds given {@code context}, on a new autocommit connection. */
  Inspection inspect(RuleEngine engine, InspectionContext context) throws SQLException {
    try (Connection connection = connect()) {
      return engine.inspect(connection, context);
    }
  }

  /** The findings of the rule {@code ruleId} alone among those {@code engine} finds. */
  List<Finding> findings(RuleEngine engine, String ruleId) throws SQLException {
    return findings(engine, InspectionContext.empty(), ruleId);
  }

  /** The findings of the rule {@code ruleId} alone among those {@code engine} finds given {@code context}. */
  List<Finding> findings(RuleEngine engine, InspectionContext context, String ruleId) throws SQLException {
    return inspect(engine, context).findings().stream().filter(finding -> finding.rule().equals(ruleId)).toList();
  }

  /** {@code rule} called directly, without the engine's read-only transaction, on a fresh catalog snapshot. */
  List<Finding> inspectAlone(Rule rule) throws SQLException {
    try (Connection connection = connect()) {
      return rule.inspect(CatalogSnapshot.read(connection), connection);
    }
  }

  /** Applies the repairs of {@code findings} in one transaction and commits it; returns the statements run. */
  List<String> applyAndCommit(RuleEngine engine, List<Finding> findings) throws SQLException {
    try (Connection connection = connect()) {
      connection.setAutoCommit(false);
      List<String> applied = engine.apply(connection, findings);
      connection.commit();
      return applied;
    }
  }

  /** Applies the repairs that cannot run in a transaction, on a new autocommit connection. */
  List<String> applyOutsideTransaction(RuleEngine engine, List<Finding> findings) throws SQLException {
    try (Connection connection = connect()) {
      return engine.applyOutsideTransaction(connection, findings);
    }
  }

  private TestDatabase database() {
    if (database == null) {
      throw new IllegalStateException("the rule test database is used before its class's tests started; register"
          + " it with @RegisterExtension on a static field");
    }
    return database;
  }
}
