package dev.lockstep.coordinator.migration.locks;

import dev.lockstep.rules.SqlScript;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * How to take a weaker or shorter lock, for the statements that usually hold a long one on a big table: the well-known
 * zero-downtime recipes (the PostgreSQL manual's notes on {@code CONCURRENTLY} and {@code NOT VALID}, and the same
 * advice in GitLab's and strong_migrations' guides). Reads the statement's words only (comments and literals are not
 * words), so it guesses nothing from text it does not understand: no recipe, no hint.
 *
 * <pre>{@code LockHints.hint(statements, "orders")  // "CREATE INDEX CONCURRENTLY …"}</pre>
 */
public final class LockHints {
  /** Defaults that PostgreSQL must compute for every row, so ADD COLUMN rewrites the table (11+ skips constants). */
  private static final Set<String> VOLATILE = Set.of("RANDOM", "CLOCK_TIMESTAMP", "TIMEOFDAY", "GEN_RANDOM_UUID",
      "UUID_GENERATE_V1", "UUID_GENERATE_V4", "NEXTVAL", "STATEMENT_TIMESTAMP", "TXID_CURRENT");
  private static final Set<String> SERIAL = Set.of("SERIAL", "BIGSERIAL", "SMALLSERIAL", "SERIAL4", "SERIAL8", "SERIAL2");

  static final String INDEX = "build it with CREATE INDEX CONCURRENTLY in a migration of its own, run outside the"
      + " transaction (executeInTransaction=false in its .sql.conf): it does not block writes";
  static final String REWRITE = "this rewrites the whole table under ACCESS EXCLUSIVE: add a new column, backfill it"
      + " in batches, move the code to it, then drop the old one in a contract migration";
  static final String VOLATILE_DEFAULT = "a volatile default (or serial, or a stored generated column) rewrites the"
      + " whole table: add the column without it (or with a constant default), backfill in batches, then SET DEFAULT";
  static final String NOT_VALID = "add the constraint NOT VALID (checks new rows only, briefly locked), then VALIDATE"
      + " CONSTRAINT in a later migration: validating takes SHARE UPDATE EXCLUSIVE, which does not block writes";
  static final String NOT_NULL = "add CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a later migration,"
      + " then SET NOT NULL, which PostgreSQL 12+ then does without scanning the table";
  static final String UNIQUE_USING_INDEX = "build the index first with CREATE UNIQUE INDEX CONCURRENTLY (a migration of"
      + " its own, outside the transaction), then ADD CONSTRAINT … PRIMARY KEY/UNIQUE USING INDEX, which is instant";
  static final String REINDEX = "REINDEX … CONCURRENTLY, in a migration of its own outside the transaction";
  static final String REFRESH = "REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view): readers"
      + " are not blocked";

  private LockHints() {}

  /**
   * The hint for the first statement among {@code statements} that names {@code table} (unqualified name) and has a
   * known recipe; empty when none has.
   */
  public static Optional<String> hint(List<SqlScript.Statement> statements, String table) {
    for (SqlScript.Statement statement : statements) {
      Set<String> names = SqlScript.names(statement.sql());
      if (!names.contains(table) && !names.contains(table.toLowerCase(Locale.ROOT))) {
        continue;
      }
      Optional<String> hint = of(SqlScript.words(statement.sql()));
      if (hint.isPresent()) {
        return hint;
      }
    }
    return Optional.empty();
  }

  /** The recipe for one statement's words (upper case, as {@link SqlScript#words} gives them). */
  static Optional<String> of(List<String> w) {
    if (w.isEmpty() || w.contains("CONCURRENTLY")) {
      return Optional.empty();
    }
    String first = w.get(0);
    if (first.equals("CREATE") && (at(w, 1, "INDEX") || (at(w, 1, "UNIQUE") && at(w, 2, "INDEX")))) {
      return Optional.of(INDEX);
    }
    if (first.equals("REINDEX")) {
      return Optional.of(REINDEX);
    }
    if (first.equals("REFRESH")) {
      return Optional.of(REFRESH);
    }
    if (!(first.equals("ALTER") && at(w, 1, "TABLE"))) {
      return Optional.empty();
    }
    // One ALTER TABLE may carry several actions; the one that costs most speaks first.
    if (alterColumnType(w)) {
      return Optional.of(REWRITE);
    }
    if (containsSequence(w, "ADD") && addsRewritingColumn(w)) {
      return Optional.of(VOLATILE_DEFAULT);
    }
    if (containsSequence(w, "SET", "NOT", "NULL")) {
      return Optional.of(NOT_NULL);
    }
    boolean add = w.contains("ADD");
    if (add && (containsSequence(w, "PRIMARY", "KEY") || w.contains("UNIQUE")) && !containsSequence(w, "USING", "INDEX")) {
      return Optional.of(UNIQUE_USING_INDEX);
    }
    if (add && (containsSequence(w, "FOREIGN", "KEY") || w.contains("REFERENCES") || w.contains("CHECK"))
        && !containsSequence(w, "NOT", "VALID")) {
      return Optional.of(NOT_VALID);
    }
    return Optional.empty();
  }

  /**
   * {@code ALTER TABLE t ALTER [COLUMN] c [SET DATA] TYPE …}. A quoted column name is no word, so TYPE may follow
   * ALTER [COLUMN] directly.
   */
  private static boolean alterColumnType(List<String> w) {
    for (int i = 2; i < w.size(); i++) {
      if (!w.get(i).equals("ALTER")) {
        continue;
      }
      int j = at(w, i + 1, "COLUMN") ? i + 2 : i + 1;
      for (int k = j; k <= j + 1; k++) {
        // "ALTER COLUMN type SET NOT NULL": a column called type, followed by its action, is no type change.
        boolean typeIsTheColumn = k == j && (at(w, k + 1, "SET") || at(w, k + 1, "DROP") || at(w, k + 1, "TYPE"));
        if ((at(w, k, "TYPE") && !typeIsTheColumn) || (at(w, k, "SET") && at(w, k + 1, "DATA") && at(w, k + 2, "TYPE"))) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean addsRewritingColumn(List<String> w) {
    int add = w.indexOf("ADD");
    List<String> rest = w.subList(add, w.size());
    boolean volatileDefault = rest.contains("DEFAULT") && rest.stream().anyMatch(VOLATILE::contains);
    boolean serial = rest.stream().anyMatch(SERIAL::contains);
    boolean stored = rest.contains("GENERATED") && rest.contains("STORED");
    return volatileDefault || serial || stored;
  }

  private static boolean at(List<String> w, int i, String word) {
    return i < w.size() && w.get(i).equals(word);
  }

  private static boolean containsSequence(List<String> w, String... words) {
    for (int i = 0; i + words.length <= w.size(); i++) {
      boolean all = true;
      for (int j = 0; j < words.length && all; j++) {
        all = w.get(i + j).equals(words[j]);
      }
      if (all) {
        return true;
      }
    }
    return false;
  }
}
