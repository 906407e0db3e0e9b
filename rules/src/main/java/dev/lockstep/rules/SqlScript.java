package dev.lockstep.rules;

import java.util.ArrayList;
import java.util.List;

/**
 * An SQL script (a migration, an undo script, a repair) split into its statements, each classified by
 * what it does to a transaction. This is the one place Lockstep asks "can this run in a transaction?"
 * and "does this end a transaction?"; the answer comes from the {@link SqlLexer}, so comments, string
 * literals ({@code '…'}, {@code E'…'}), quoted names and dollar quotes never count as code.
 *
 * <ul>
 *   <li>{@link Kind#TRANSACTION_CONTROL} — {@code BEGIN}, {@code START TRANSACTION}, {@code COMMIT},
 *       {@code END}, {@code ROLLBACK}, {@code ABORT}, {@code SAVEPOINT}, {@code RELEASE},
 *       {@code PREPARE TRANSACTION}, {@code COMMIT/ROLLBACK PREPARED}, {@code SET TRANSACTION},
 *       {@code SET SESSION CHARACTERISTICS}: run inside Lockstep's transaction, each would end it, split
 *       it or change it.</li>
 *   <li>{@link Kind#NON_TRANSACTIONAL} — statements PostgreSQL refuses inside a transaction block:
 *       {@code … CONCURRENTLY} (but {@code REFRESH MATERIALIZED VIEW CONCURRENTLY}), {@code VACUUM},
 *       {@code CREATE/DROP DATABASE}, {@code CREATE/DROP TABLESPACE}, {@code ALTER SYSTEM},
 *       {@code REINDEX DATABASE/SYSTEM}, {@code CREATE/DROP SUBSCRIPTION}, {@code DISCARD ALL}, a bare
 *       {@code CLUSTER}.</li>
 *   <li>{@link Kind#CALL} — a procedure call; it runs in a transaction like any statement, but a
 *       procedure that commits fails there (SQL state {@code 2D000}), which a rehearsal sees safely.</li>
 * </ul>
 *
 * <p>A script whose only transaction control is an outer wrapper — {@code BEGIN;} (or
 * {@code START TRANSACTION;}) first and {@code COMMIT;} (or {@code END;}) last, or a lone trailing
 * {@code COMMIT;} — is atomic already: {@link #body()} leaves the wrapper out, so it runs inside the
 * release's transaction. Any other transaction control is {@link #transactionControl()}.
 *
 * <pre>{@code SqlScript script = SqlScript.parse(Files.readString(file));
 * if (!script.transactionControl().isEmpty()) {
 *   SqlScript.Statement first = script.transactionControl().get(0);   // "COMMIT" on line 12
 * }
 * for (SqlScript.Statement s : script.body()) { jdbc.execute(s.sql()); }}</pre>
 */
public final class SqlScript {

  public enum Kind { ORDINARY, TRANSACTION_CONTROL, NON_TRANSACTIONAL, CALL }

  /**
   * One statement of the script.
   *
   * @param sql its text, without the closing {@code ;}
   * @param line the 1-based line of its first code character
   * @param keyword its leading words as PostgreSQL reads them, e.g. {@code COMMIT}, {@code CREATE INDEX}
   */
  public record Statement(String sql, int line, Kind kind, String keyword) {
    /** {@code COMMIT on line 12} — how messages name a statement. */
    public String describe() {
      return keyword + " on line " + line;
    }
  }

  private final List<Statement> statements;
  private final List<Statement> body;
  private final boolean wrapped;

  private SqlScript(List<Statement> statements, List<Statement> body, boolean wrapped) {
    this.statements = List.copyOf(statements);
    this.body = List.copyOf(body);
    this.wrapped = wrapped;
  }

  public static SqlScript parse(String sql) {
    List<Statement> statements = new ArrayList<>();
    int[] lineStarts = lineStarts(sql);
    for (SqlLexer.Range range : SqlLexer.ranges(sql)) {
      String text = range.text(sql);
      List<String> words = SqlLexer.words(text);
      int firstCode = firstCode(text);
      if (firstCode < 0) {
        continue; // only comments: nothing PostgreSQL would run
      }
      statements.add(new Statement(text, lineOf(lineStarts, range.start() + firstCode), kindOf(words), keywordOf(words)));
    }
    return withWrapperFound(statements);
  }

  /** Every statement, as written, wrapper included. */
  public List<Statement> statements() {
    return statements;
  }

  /** The statements to run inside a transaction: all of them but an outer {@code BEGIN; … COMMIT;} wrapper. */
  public List<Statement> body() {
    return body;
  }

  /** Whether the script had an outer {@code BEGIN; … COMMIT;} wrapper (or a lone trailing {@code COMMIT;}) that {@link #body()} leaves out. */
  public boolean wrapped() {
    return wrapped;
  }

  /** Transaction control in the body: statements that would end, split or change the transaction they run in. */
  public List<Statement> transactionControl() {
    return body.stream().filter(s -> s.kind() == Kind.TRANSACTION_CONTROL).toList();
  }

  /** Statements PostgreSQL refuses inside a transaction block. */
  public List<Statement> nonTransactional() {
    return body.stream().filter(s -> s.kind() == Kind.NON_TRANSACTIONAL).toList();
  }

  /** {@code CALL} statements: a called procedure that commits fails inside a transaction. */
  public List<Statement> calls() {
    return body.stream().filter(s -> s.kind() == Kind.CALL).toList();
  }

  /** Whether the body can run inside a transaction block: no transaction control, nothing PostgreSQL refuses there. */
  public boolean transactional() {
    return transactionControl().isEmpty() && nonTransactional().isEmpty();
  }

  /** The statement on {@code line}, or the last one starting before it: where a database error points. */
  public Statement statementAt(int line) {
    Statement found = statements.isEmpty() ? null : statements.get(0);
    for (Statement s : statements) {
      if (s.line() <= line) {
        found = s;
      }
    }
    return found;
  }

  /**
   * The bare words of {@code sql}'s code, upper case, in order (keywords and unquoted identifiers); comments, string
   * literals and quoted identifiers are not words. For reading what a statement does ({@code ADD COLUMN … DEFAULT …}).
   */
  public static List<String> words(String sql) {
    return SqlLexer.words(sql);
  }

  /**
   * The names {@code sql} mentions as code, lower case: bare words (keywords among them) and quoted
   * identifiers as written inside their quotes. Comments and string literals name nothing.
   */
  public static java.util.Set<String> names(String sql) {
    java.util.Set<String> names = new java.util.HashSet<>();
    SqlLexer.words(sql).forEach(w -> names.add(w.toLowerCase(java.util.Locale.ROOT)));
    for (SqlLexer.Span span : SqlLexer.spans(sql)) {
      if (span.kind() == SqlLexer.Kind.QUOTED_IDENTIFIER && span.closed()) {
        names.add(sql.substring(span.start() + 1, span.end() - 1).replace("\"\"", "\""));
      }
    }
    return names;
  }

  private static SqlScript withWrapperFound(List<Statement> statements) {
    if (statements.isEmpty()) {
      return new SqlScript(statements, statements, false);
    }
    boolean opens = opensTransaction(statements.get(0));
    boolean closes = statements.size() > (opens ? 1 : 0) && commits(statements.get(statements.size() - 1));
    if (!closes) {
      return new SqlScript(statements, statements, false); // a BEGIN that nothing ends is not a wrapper
    }
    List<Statement> inner = statements.subList(opens ? 1 : 0, statements.size() - 1);
    if (inner.stream().anyMatch(s -> s.kind() == Kind.TRANSACTION_CONTROL)) {
      return new SqlScript(statements, statements, false); // several transactions, or savepoints: not a plain wrapper
    }
    return new SqlScript(statements, inner, true);
  }

  private static boolean opensTransaction(Statement s) {
    return s.keyword().equals("BEGIN") || s.keyword().equals("START TRANSACTION");
  }

  private static boolean commits(Statement s) {
    return s.keyword().equals("COMMIT") || s.keyword().equals("END");
  }

  private static Kind kindOf(List<String> words) {
    if (words.isEmpty()) {
      return Kind.ORDINARY;
    }
    String first = words.get(0);
    String second = words.size() > 1 ? words.get(1) : "";
    switch (first) {
      case "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE" -> {
        return first.equals("START") && !second.equals("TRANSACTION") ? Kind.ORDINARY : Kind.TRANSACTION_CONTROL;
      }
      case "PREPARE" -> {
        return second.equals("TRANSACTION") ? Kind.TRANSACTION_CONTROL : Kind.ORDINARY; // PREPARE name AS … is a statement
      }
      case "SET" -> {
        boolean transaction = second.equals("TRANSACTION")
            || (second.equals("SESSION") && words.size() > 2 && words.get(2).equals("CHARACTERISTICS"));
        return transaction ? Kind.TRANSACTION_CONTROL : Kind.ORDINARY;
      }
      case "CALL" -> {
        return Kind.CALL;
      }
      default -> {
        return refusedInTransaction(first, second, words) ? Kind.NON_TRANSACTIONAL : Kind.ORDINARY;
      }
    }
  }

  private static boolean refusedInTransaction(String first, String second, List<String> words) {
    if (words.contains("CONCURRENTLY")) {
      // REFRESH MATERIALIZED VIEW CONCURRENTLY runs in a transaction; CREATE/DROP INDEX, REINDEX, DETACH PARTITION do not.
      return List.of("CREATE", "DROP", "REINDEX", "ALTER").contains(first);
    }
    return switch (first) {
      case "VACUUM" -> true;
      case "CREATE", "DROP" -> second.equals("DATABASE") || second.equals("TABLESPACE") || second.equals("SUBSCRIPTION");
      case "ALTER" -> second.equals("SYSTEM");
      case "REINDEX" -> words.contains("DATABASE") || words.contains("SYSTEM");
      case "DISCARD" -> second.equals("ALL");
      case "CLUSTER" -> words.size() == 1 || (words.size() == 2 && second.equals("VERBOSE"));
      default -> false;
    };
  }

  private static String keywordOf(List<String> words) {
    if (words.isEmpty()) {
      return "";
    }
    String first = words.get(0);
    String second = words.size() > 1 ? words.get(1) : "";
    return switch (first) {
      case "START", "PREPARE", "SET", "CREATE", "DROP", "ALTER", "REINDEX", "COMMIT", "ROLLBACK" ->
          second.isEmpty() ? first : first + " " + second;
      default -> first;
    };
  }

  /** The offset of the first code character of {@code text}, or -1 if it is all comments and whitespace. */
  private static int firstCode(String text) {
    for (SqlLexer.Span span : SqlLexer.spans(text)) {
      if (span.kind() == SqlLexer.Kind.COMMENT) {
        continue;
      }
      for (int i = span.start(); i < span.end(); i++) {
        if (!Character.isWhitespace(text.charAt(i))) {
          return i;
        }
      }
    }
    return -1;
  }

  private static int[] lineStarts(String sql) {
    List<Integer> starts = new ArrayList<>(List.of(0));
    for (int i = 0; i < sql.length(); i++) {
      if (sql.charAt(i) == '\n') {
        starts.add(i + 1);
      }
    }
    return starts.stream().mapToInt(Integer::intValue).toArray();
  }

  private static int lineOf(int[] lineStarts, int offset) {
    int found = java.util.Arrays.binarySearch(lineStarts, offset);
    return found >= 0 ? found + 1 : -found - 1;
  }
}
