package dev.lockstep.rules;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The named objects a script would create, read from its statements with the {@link SqlLexer} (so a
 * {@code CREATE TABLE} in a comment, a string literal or a function body creates nothing). What
 * adopting a database asks: which migrations would create what is already there. Read are
 * {@code CREATE [UNLOGGED] TABLE}, {@code CREATE [UNIQUE] INDEX [CONCURRENTLY] name ON …},
 * {@code CREATE SEQUENCE}, {@code CREATE [MATERIALIZED] VIEW}, {@code CREATE TYPE}, {@code CREATE DOMAIN},
 * {@code CREATE SCHEMA}, {@code CREATE EXTENSION}, and {@code ALTER TABLE … ADD [COLUMN] c} /
 * {@code ADD CONSTRAINT c}, each with or without {@code IF NOT EXISTS}. Temporary objects, unnamed
 * indexes and {@code CREATE OR REPLACE} (which never collides) are left out, as are functions, whose
 * overloads a name alone does not tell apart.
 *
 * <pre>{@code
 * for (CreatedObjects.Created c : CreatedObjects.of(SqlScript.parse(sql))) {
 *   c.describe();     // "table public.users", "column users.email"
 *   c.relation();     // "\"public\".\"users\"": what to_regclass() reads
 * }
 * }</pre>
 */
public final class CreatedObjects {
  private static final Set<String> MODIFIERS = Set.of("GLOBAL", "LOCAL", "UNLOGGED", "UNIQUE", "RECURSIVE");
  private static final Set<String> TABLE_CONSTRAINTS = Set.of("PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE");

  private CreatedObjects() {}

  /** What kind of object; {@link #wireName()} is how reports write it. */
  public enum Kind {
    TABLE, INDEX, SEQUENCE, VIEW, MATERIALIZED_VIEW, TYPE, DOMAIN, SCHEMA, EXTENSION, COLUMN, CONSTRAINT;

    /** {@code table}, {@code materialized view}, … */
    public String wireName() {
      return name().toLowerCase(Locale.ROOT).replace('_', ' ');
    }

    /** Whether it lives in {@code pg_class}, where tables, indexes, sequences and views share one namespace. */
    public boolean relation() {
      return this == TABLE || this == INDEX || this == SEQUENCE || this == VIEW || this == MATERIALIZED_VIEW;
    }
  }

  /**
   * One object a statement creates.
   *
   * @param schema the schema as written (unquoted names folded to lower case), or null when unqualified,
   *     so that the search path decides, as it will when the statement runs
   * @param name the object's name; for a column or constraint, the table's
   * @param member the column's or constraint's name; null for other kinds
   * @param line the line the statement starts on
   */
  public record Created(Kind kind, String schema, String name, String member, int line) {
    /** {@code table public.users}, {@code index users_email}, {@code column users.email}. */
    public String describe() {
      return kind.wireName() + " " + written();
    }

    /** The name as the statement writes it, folded: {@code public.users}, {@code users.email} for a column. */
    public String written() {
      String object = (schema == null ? "" : schema + ".") + name;
      return member == null ? object : object + "." + member;
    }

    /** The name, quoted as SQL reads it exactly: {@code "public"."users"}, or {@code "users"} unqualified. */
    public String relation() {
      return schema == null ? Sql.quoteIdent(name) : Sql.qualified(schema, name);
    }
  }

  /** The objects {@code script}'s statements create, in order. */
  public static List<Created> of(SqlScript script) {
    List<Created> created = new ArrayList<>();
    for (SqlScript.Statement statement : script.body()) {
      Tokens tokens = new Tokens(tokens(statement.sql()));
      if (tokens.takeWord("CREATE")) {
        create(tokens, statement.line()).ifPresent(created::add);
      } else if (tokens.takeWord("ALTER") && tokens.takeWord("TABLE")) {
        created.addAll(addedToTable(tokens, statement.line()));
      }
    }
    return created;
  }

  private static Optional<Created> create(Tokens t, int line) {
    if (t.takeWord("OR")) {
      return Optional.empty(); // OR REPLACE: replaces what exists rather than colliding with it
    }
    while (MODIFIERS.contains(t.word())) {
      t.next();
    }
    if (t.word().equals("TEMP") || t.word().equals("TEMPORARY")) {
      return Optional.empty();
    }
    Kind kind = switch (t.word()) {
      case "TABLE" -> Kind.TABLE;
      case "INDEX" -> Kind.INDEX;
      case "SEQUENCE" -> Kind.SEQUENCE;
      case "VIEW" -> Kind.VIEW;
      case "MATERIALIZED" -> Kind.MATERIALIZED_VIEW;
      case "TYPE" -> Kind.TYPE;
      case "DOMAIN" -> Kind.DOMAIN;
      case "SCHEMA" -> Kind.SCHEMA;
      case "EXTENSION" -> Kind.EXTENSION;
      default -> null;
    };
    if (kind == null) {
      return Optional.empty();
    }
    t.next();
    if (kind == Kind.MATERIALIZED_VIEW && !t.takeWord("VIEW")) {
      return Optional.empty();
    }
    if (kind == Kind.INDEX) {
      t.takeWord("CONCURRENTLY");
    }
    ifNotExists(t);
    if (kind == Kind.SCHEMA || kind == Kind.EXTENSION) {
      t.takeWord("AUTHORIZATION"); // CREATE SCHEMA AUTHORIZATION role names the schema after the role
      return t.identifier().map(name -> new Created(kind, null, name, null, line));
    }
    if (kind == Kind.INDEX && t.word().equals("ON")) {
      return Optional.empty(); // unnamed: PostgreSQL picks a free name, so it never collides
    }
    Optional<List<String>> name = qualifiedName(t);
    if (name.isEmpty()) {
      return Optional.empty();
    }
    String schema = name.get().get(0);
    if (kind == Kind.INDEX && schema == null && t.takeWord("ON")) {
      t.takeWord("ONLY");
      schema = qualifiedName(t).map(table -> table.get(0)).orElse(null); // an index lives in its table's schema
    }
    return Optional.of(new Created(kind, schema, name.get().get(1), null, line));
  }

  /** {@code ALTER TABLE [IF EXISTS] [ONLY] t ADD [COLUMN] [IF NOT EXISTS] c …, ADD CONSTRAINT k …}. */
  private static List<Created> addedToTable(Tokens t, int line) {
    if (t.takeWord("IF")) {
      t.takeWord("EXISTS");
    }
    t.takeWord("ONLY");
    Optional<List<String>> table = qualifiedName(t);
    if (table.isEmpty()) {
      return List.of();
    }
    List<Created> added = new ArrayList<>();
    do {
      if (t.depth() == 0 && t.takeWord("ADD")) {
        Kind kind = t.takeWord("CONSTRAINT") ? Kind.CONSTRAINT : Kind.COLUMN;
        if (kind == Kind.COLUMN && TABLE_CONSTRAINTS.contains(t.word())) {
          continue; // an unnamed table constraint
        }
        if (kind == Kind.COLUMN) {
          t.takeWord("COLUMN");
          ifNotExists(t);
        }
        t.identifier().ifPresent(member -> added.add(new Created(kind, table.get().get(0), table.get().get(1), member, line)));
      }
    } while (t.skipPastComma());
    return added;
  }

  private static void ifNotExists(Tokens t) {
    if (t.word().equals("IF")) {
      t.next();
      t.takeWord("NOT");
      t.takeWord("EXISTS");
    }
  }

  /** {@code name}, {@code schema.name} or {@code db.schema.name}: [schema or null, name]. */
  private static Optional<List<String>> qualifiedName(Tokens t) {
    List<String> parts = new ArrayList<>();
    Optional<String> first = t.identifier();
    if (first.isEmpty()) {
      return Optional.empty();
    }
    parts.add(first.get());
    while (t.takePunctuation('.')) {
      Optional<String> part = t.identifier();
      if (part.isEmpty()) {
        return Optional.empty();
      }
      parts.add(part.get());
    }
    if (parts.size() > 3) {
      return Optional.empty();
    }
    String name = parts.get(parts.size() - 1);
    String schema = parts.size() > 1 ? parts.get(parts.size() - 2) : null;
    return Optional.of(java.util.Arrays.asList(schema, name)); // schema may be null, which List.of refuses
  }

  /**
   * A token of code: a bare word (its text upper case in {@code word}, lower case in {@code name}, as
   * PostgreSQL folds it), a quoted identifier ({@code name} as written), a punctuation character, or a
   * literal (a string or dollar-quoted text, which names nothing).
   */
  private record Token(String word, String name, char punctuation) {
    static final char NONE = 0;
  }

  private static List<Token> tokens(String sql) {
    List<Token> tokens = new ArrayList<>();
    for (SqlLexer.Span span : SqlLexer.spans(sql)) {
      switch (span.kind()) {
        case COMMENT -> { }
        case QUOTED_IDENTIFIER -> tokens.add(new Token("", span.closed()
            ? sql.substring(span.start() + 1, span.end() - 1).replace("\"\"", "\"") : "", Token.NONE));
        case STRING, DOLLAR_STRING -> tokens.add(new Token("", null, '\''));
        case CODE -> code(sql, span, tokens);
      }
    }
    return tokens;
  }

  private static void code(String sql, SqlLexer.Span span, List<Token> tokens) {
    int i = span.start();
    while (i < span.end()) {
      char c = sql.charAt(i);
      if (Character.isLetter(c) || c == '_' || c >= 0x80) {
        int start = i;
        while (i < span.end() && SqlLexer.identifierChar(sql.charAt(i))) {
          i++;
        }
        String word = sql.substring(start, i);
        tokens.add(new Token(word.toUpperCase(Locale.ROOT), word.toLowerCase(Locale.ROOT), Token.NONE));
      } else if (SqlLexer.identifierChar(c)) {
        while (i < span.end() && SqlLexer.identifierChar(sql.charAt(i))) {
          i++; // a number
        }
        tokens.add(new Token("", null, '0'));
      } else {
        if (!Character.isWhitespace(c)) {
          tokens.add(new Token("", null, c));
        }
        i++;
      }
    }
  }

  /** A cursor over a statement's tokens that knows how deep in parentheses it is. */
  private static final class Tokens {
    private final List<Token> tokens;
    private int at;
    private int depth;

    Tokens(List<Token> tokens) {
      this.tokens = tokens;
    }

    /** The current token's bare word, upper case; empty for anything else or past the end. */
    String word() {
      return at < tokens.size() ? tokens.get(at).word() : "";
    }

    int depth() {
      return depth;
    }

    void next() {
      if (at < tokens.size()) {
        char p = tokens.get(at).punctuation();
        depth += p == '(' ? 1 : p == ')' ? -1 : 0;
        at++;
      }
    }

    boolean takeWord(String word) {
      if (word().equals(word)) {
        next();
        return true;
      }
      return false;
    }

    boolean takePunctuation(char p) {
      if (at < tokens.size() && tokens.get(at).punctuation() == p) {
        next();
        return true;
      }
      return false;
    }

    /** A bare word or quoted identifier, folded as PostgreSQL folds it; empty (and nothing taken) for anything else. */
    Optional<String> identifier() {
      String name = at < tokens.size() ? tokens.get(at).name() : null;
      if (name == null || name.isEmpty() || name.indexOf('\0') >= 0) { // PostgreSQL refuses both; so does Sql.quoteIdent
        return Optional.empty();
      }
      next();
      return Optional.of(name);
    }

    /** Moves past the next comma outside parentheses; false at the end of the statement. */
    boolean skipPastComma() {
      while (at < tokens.size()) {
        boolean comma = depth == 0 && tokens.get(at).punctuation() == ',';
        next();
        if (comma) {
          return true;
        }
      }
      return false;
    }
  }
}
