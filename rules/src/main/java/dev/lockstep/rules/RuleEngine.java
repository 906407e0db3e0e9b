package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the repair rules: the built-in ones and any on the class path (through {@link ServiceLoader}),
 * plus those passed in. It only does blocking JDBC; call it from a worker thread. It keeps no state
 * between calls, so one engine can serve concurrent inspections on different connections.
 *
 * <pre>{@code
 * RuleEngine engine = new RuleEngine(UserRules.load(rulesFolder));
 * Inspection inspection = engine.inspect(connection, context);  // PREFLIGHT, or `lockstep check`
 * ...
 * List<Finding> planned = inspection.findings().stream().filter(Finding::hasRepair).toList();
 * engine.applyOutsideTransaction(autocommit, Repairs.outsideTransaction(planned)); // REINDEX … CONCURRENTLY
 * connection.setAutoCommit(false);                              // MIGRATING: the caller's transaction
 * checkFence(connection);
 * List<String> applied = engine.apply(connection, Repairs.inTransaction(planned));
 * runMigrations(connection);
 * connection.commit();
 * }</pre>
 */
public final class RuleEngine {
  private static final Logger LOG = LoggerFactory.getLogger(RuleEngine.class);

  private final List<Rule> rules;

  /** The rules found through {@link ServiceLoader}. */
  public RuleEngine() {
    this(List.of());
  }

  /**
   * The rules found through {@link ServiceLoader}, then {@code additionalRules}.
   *
   * @throws IllegalArgumentException if two rules share an id
   * @throws java.util.ServiceConfigurationError if a listed rule cannot be loaded
   */
  public RuleEngine(List<? extends Rule> additionalRules) {
    Map<String, Rule> byId = new LinkedHashMap<>();
    List<Rule> candidates = new ArrayList<>(loadedRules());
    candidates.addAll(additionalRules);
    for (Rule rule : candidates) {
      Rule clash = byId.putIfAbsent(rule.id(), rule);
      if (clash != null) {
        throw new IllegalArgumentException("two rules share the id '" + rule.id() + "': "
            + clash.getClass().getName() + " and " + rule.getClass().getName() + "; rename one of them");
      }
    }
    this.rules = List.copyOf(byId.values());
  }

  /** The rules {@link ServiceLoader} finds: the built-in ones, and any other jar's on the class path. */
  static List<Rule> loadedRules() {
    List<Rule> loaded = new ArrayList<>();
    ServiceLoader.load(Rule.class, RuleEngine.class.getClassLoader()).forEach(loaded::add);
    return loaded;
  }

  /** The rules, in the order they run. */
  public List<Rule> rules() {
    return rules;
  }

  /** {@link #inspect(Connection, InspectionContext)} knowing nothing beyond the database. */
  public Inspection inspect(Connection connection) throws SQLException {
    return inspect(connection, InspectionContext.empty());
  }

  /**
   * Reads the catalog once and runs every rule on it. Changes nothing: on an autocommit connection
   * everything runs in one {@code REPEATABLE READ READ ONLY} transaction; inside the caller's
   * transaction each rule runs in a savepoint that is rolled back. A rule that throws does not hide
   * the others: its error becomes a {@code block} finding naming the rule.
   *
   * @param context what the caller knows besides the database: the migrations folder, the tables the
   *     pending migrations alter, declared keys; null is {@link InspectionContext#empty()}
   * @throws SQLException if the catalog itself cannot be read
   */
  public Inspection inspect(Connection connection, InspectionContext context) throws SQLException {
    InspectionContext known = context == null ? InspectionContext.empty() : context;
    long start = System.nanoTime();
    List<Finding> findings = Transactions.readConsistently(connection, () -> {
      CatalogSnapshot snapshot = CatalogSnapshot.read(connection);
      List<Finding> all = new ArrayList<>();
      for (Rule rule : rules) {
        all.addAll(run(rule, snapshot, connection, known));
      }
      return all;
    });
    long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    LOG.debug("{} rules found {} findings in {} ms", rules.size(), findings.size(), elapsedMs);
    return new Inspection(findings, elapsedMs);
  }

  /**
   * Executes every planned repair statement of {@code findings}, in order, on the caller's
   * transaction: it neither begins nor commits, so the repairs commit together with whatever else
   * the caller does there (the fencing check, the migrations) or not at all.
   *
   * @return the statements executed
   * @throws IllegalStateException if the connection is in autocommit, where each repair would commit alone
   * @throws IllegalArgumentException if a finding blocks (a release with one must not get this far), or
   *     if a repair cannot run in a transaction (see {@link Repairs}; give it to {@link #applyOutsideTransaction})
   * @throws SQLException if a repair fails; the message names the statement and the object, and the
   *     caller's transaction is left for the caller to roll back
   */
  public List<String> apply(Connection connection, List<Finding> findings) throws SQLException {
    if (connection.getAutoCommit()) {
      throw new IllegalStateException("repairs must run in the caller's transaction so that they commit with its"
          + " fencing check; call setAutoCommit(false) on the connection before apply");
    }
    refuseBlocking(findings);
    for (Finding finding : findings) {
      if (!Repairs.isTransactional(finding)) {
        throw new IllegalArgumentException("the repair of " + finding.object() + " (rule " + finding.rule()
            + ") cannot run inside a transaction: " + String.join("; ", finding.repair()) + "; pass it to"
            + " applyOutsideTransaction on an autocommit connection (Repairs.outsideTransaction picks such findings)");
      }
    }
    return execute(connection, findings, "to commit with the caller's transaction");
  }

  /**
   * Executes the repairs that PostgreSQL refuses inside a transaction block ({@code REINDEX … CONCURRENTLY},
   * {@code DROP INDEX CONCURRENTLY}), each statement committing on its own. Run it while this process
   * holds no open transaction on the database: a concurrent index build waits for every older
   * transaction to end, its caller's included. A statement that fails leaves the ones before it
   * committed; a failed concurrent rebuild leaves an invalid index that the next inspection finds.
   * Give the connection a {@code lock_timeout}: a concurrent rebuild also waits for any session that
   * holds a transaction open on the table, and would otherwise wait as long as it does.
   *
   * @return the statements executed
   * @throws IllegalStateException if the connection is not in autocommit
   * @throws IllegalArgumentException if a finding blocks, or if its repair can run in a transaction (give it
   *     to {@link #apply}, so that it commits with the fencing check)
   * @throws SQLException if a repair fails; the message names the statement and the object
   */
  public List<String> applyOutsideTransaction(Connection autocommitConnection, List<Finding> findings)
      throws SQLException {
    if (!autocommitConnection.getAutoCommit()) {
      throw new IllegalStateException("these repairs cannot run inside a transaction block; give applyOutsideTransaction"
          + " a connection in autocommit with no transaction open");
    }
    refuseBlocking(findings);
    for (Finding finding : findings) {
      if (finding.hasRepair() && Repairs.isTransactional(finding)) {
        throw new IllegalArgumentException("the repair of " + finding.object() + " (rule " + finding.rule()
            + ") can run in a transaction, so it belongs in apply, where it commits with the fencing check: "
            + String.join("; ", finding.repair()));
      }
    }
    return execute(autocommitConnection, findings, "committed on its own, outside a transaction");
  }

  private static void refuseBlocking(List<Finding> findings) {
    for (Finding finding : findings) {
      if (finding.blocks()) {
        throw new IllegalArgumentException("finding of rule " + finding.rule() + " on " + finding.object()
            + " blocks the release, so no repair may be applied: " + finding.message());
      }
    }
  }

  private static List<String> execute(Connection connection, List<Finding> findings, String how) throws SQLException {
    List<String> executed = new ArrayList<>();
    try (Statement statement = connection.createStatement()) {
      for (Finding finding : findings) {
        for (String sql : finding.repair()) {
          try {
            statement.execute(sql);
          } catch (SQLException e) {
            throw new SQLException("repair of " + finding.object() + " (rule " + finding.rule() + ") failed: "
                + e.getMessage() + "; statement: " + sql, e.getSQLState(), e);
          }
          LOG.info("executed repair of {} (rule {}), {}: {}", finding.object(), finding.rule(), how, sql);
          executed.add(sql);
        }
      }
    }
    return List.copyOf(executed);
  }

  private static List<Finding> run(Rule rule, CatalogSnapshot snapshot, Connection connection,
      InspectionContext context) {
    try {
      List<Finding> found = Transactions.undone(connection, () -> rule.inspect(snapshot, connection, context));
      return found == null ? List.of() : found;
    } catch (SQLException | RuntimeException e) {
      LOG.warn("rule {} failed", rule.id(), e);
      return List.of(new Finding(rule.id(), Severity.BLOCK, "rule " + rule.id(),
          "rule " + rule.id() + " failed, so the database could not be checked: " + describe(e)
              + "; fix or remove the rule, then run the release again",
          List.of()));
    }
  }

  private static String describe(Exception e) {
    if (e instanceof SQLException sql && sql.getSQLState() != null) {
      return sql.getMessage() + " (SQLSTATE " + sql.getSQLState() + ")";
    }
    return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
  }
}
