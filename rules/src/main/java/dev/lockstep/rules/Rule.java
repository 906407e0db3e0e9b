package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * A pre-flight repair rule: looks at the catalog snapshot (and, where it must, at the data) and
 * returns findings, each with a repair plan when the rule can fix the problem safely.
 *
 * <p>A rule only looks. The {@link RuleEngine} runs it in a read-only transaction or a savepoint that
 * is rolled back, and applies the planned repairs later, in the caller's transaction. A rule is found
 * through {@link java.util.ServiceLoader} (list it in {@code META-INF/services/dev.lockstep.rules.Rule};
 * it then needs a public no-argument constructor) or passed to the {@link RuleEngine} constructor.
 * Build SQL with {@link Sql#quoteIdent(String)} and {@link CatalogSnapshot.TableName#quoted()}. A rule
 * that needs to know more than the database (the migrations folder, the tables the release alters)
 * overrides {@link #inspect(CatalogSnapshot, Connection, InspectionContext)} as well.
 *
 * <p>A repair that cannot run inside a transaction ({@code … CONCURRENTLY}, {@code VACUUM}) is fine to
 * plan: {@link Repairs#isTransactional(String)} recognises it, and the engine applies it apart.
 *
 * <pre>{@code
 * public final class UnloggedTableRule implements Rule {
 *   public String id() { return "unlogged-table"; }
 *
 *   public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection) throws SQLException {
 *     List<Finding> findings = new ArrayList<>();
 *     for (CatalogSnapshot.Table table : snapshot.tables()) {
 *       if (isUnlogged(table, connection)) {
 *         findings.add(new Finding(id(), Severity.WARN, table.name().toString(),
 *             "table " + table.name() + " is unlogged, so a crash empties it; it will be made logged",
 *             List.of("ALTER TABLE " + table.name().quoted() + " SET LOGGED")));
 *       }
 *     }
 *     return findings;
 *   }
 * }
 * }</pre>
 */
public interface Rule {
  /** Stable, kebab-case, e.g. {@code missing-primary-key}; it is the {@code rule} of every finding. */
  String id();

  /**
   * The findings about the database; empty when all is well.
   *
   * @param snapshot the catalog, read once for all rules
   * @param connection for the data checks the rule needs (counting NULLs, duplicates); do not change
   *     anything through it, and do not commit or roll back
   */
  List<Finding> inspect(CatalogSnapshot snapshot, Connection connection) throws SQLException;

  /**
   * The findings, given what the caller knows besides the database. The engine calls this one; by
   * default the context is not needed and the two-argument form answers.
   */
  default List<Finding> inspect(CatalogSnapshot snapshot, Connection connection, InspectionContext context)
      throws SQLException {
    return inspect(snapshot, connection);
  }
}
