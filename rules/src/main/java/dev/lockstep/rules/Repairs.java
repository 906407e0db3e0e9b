package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import java.util.List;

/**
 * Which planned repairs can run inside a transaction and which cannot. Most repairs commit together
 * with the fencing check and the migrations ({@link RuleEngine#apply}); a few statements PostgreSQL
 * refuses inside a transaction block, and those go through {@link RuleEngine#applyOutsideTransaction}.
 * A finding is transactional only if every statement of its repair is.
 *
 * <p>Not transactional: what {@link SqlScript} classifies as {@link SqlScript.Kind#NON_TRANSACTIONAL}
 * (anything {@code CONCURRENTLY} but {@code REFRESH MATERIALIZED VIEW CONCURRENTLY}, {@code VACUUM}, …).
 * Keywords in literals, quoted names and comments do not count.
 *
 * <p>A third question matters to a rehearsal, which runs repairs in a transaction that is rolled back:
 * {@link #undoneByRollback(String)} says whether the rollback really undoes a statement ({@code setval}
 * is not undone).
 *
 * <pre>{@code
 * List<Finding> planned = inspection.findings().stream().filter(Finding::hasRepair).toList();
 * engine.applyOutsideTransaction(autocommitConnection, Repairs.outsideTransaction(planned));  // REINDEX … CONCURRENTLY
 * tx.setAutoCommit(false);
 * engine.apply(tx, Repairs.inTransaction(planned));                                          // ALTER TABLE …, setval
 * rehearse(Repairs.rehearsable(planned), migrations);                                      // not setval
 * }</pre>
 */
public final class Repairs {
  private Repairs() {}

  /** Whether every statement of {@code sql} (one or several, separated by {@code ;}) may run in a transaction block. */
  public static boolean isTransactional(String sql) {
    return SqlScript.parse(sql).statements().stream().noneMatch(s -> s.kind() == SqlScript.Kind.NON_TRANSACTIONAL);
  }

  /** Whether every statement of the finding's repair may run in a transaction block; true if it has none. */
  public static boolean isTransactional(Finding finding) {
    return finding.repair().stream().allMatch(Repairs::isTransactional);
  }

  /**
   * Whether a rollback undoes every effect of {@code sql}: it runs in a transaction and does not move a
   * sequence ({@code setval}, {@code nextval}), which PostgreSQL never rolls back. Only such repairs may
   * be rehearsed in a transaction that is rolled back without changing the database.
   */
  public static boolean undoneByRollback(String sql) {
    List<String> words = SqlLexer.words(sql);
    return isTransactional(sql) && !words.contains("SETVAL") && !words.contains("NEXTVAL");
  }

  /** The findings whose repairs a rolled-back rehearsal may run, leaving nothing behind. */
  public static List<Finding> rehearsable(List<Finding> findings) {
    return findings.stream().filter(finding -> finding.repair().stream().allMatch(Repairs::undoneByRollback)).toList();
  }

  /** The findings whose repairs run in the caller's transaction, for {@link RuleEngine#apply}. */
  public static List<Finding> inTransaction(List<Finding> findings) {
    return findings.stream().filter(Repairs::isTransactional).toList();
  }

  /** The findings with a repair that must run outside any transaction, for {@link RuleEngine#applyOutsideTransaction}. */
  public static List<Finding> outsideTransaction(List<Finding> findings) {
    return findings.stream().filter(finding -> !isTransactional(finding)).toList();
  }
}
