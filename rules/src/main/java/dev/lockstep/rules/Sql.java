package dev.lockstep.rules;

/**
 * SQL text helpers for the statements rules build. Every identifier that goes into SQL goes through
 * {@link #quoteIdent(String)}: table names such as {@code user} are reserved words, and a name may
 * contain spaces or quotes, so leaving one unquoted is at best an error and at worst an injection.
 *
 * <pre>{@code
 * Sql.quoteIdent("user");             // "user"
 * Sql.quoteIdent("say \"hi\"");       // "say ""hi"""
 * Sql.qualified("public", "user");    // "public"."user"
 * Sql.quoteLiteral("\"public\".\"user_id_seq\"");  // '"public"."user_id_seq"', e.g. for setval's regclass argument
 * }</pre>
 */
public final class Sql {
  private Sql() {}

  /** The identifier in double quotes, embedded double quotes doubled, as PostgreSQL reads it back exactly. */
  public static String quoteIdent(String identifier) {
    if (identifier == null || identifier.isEmpty()) {
      throw new IllegalArgumentException("an SQL identifier cannot be null or empty");
    }
    if (identifier.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("an SQL identifier cannot contain a NUL character: " + identifier.replace('\0', '?'));
    }
    return '"' + identifier.replace("\"", "\"\"") + '"';
  }

  /** {@code "schema"."name"}, both parts quoted. */
  public static String qualified(String schema, String name) {
    return quoteIdent(schema) + "." + quoteIdent(name);
  }

  /**
   * {@code text} as a string literal, the way PostgreSQL's {@code quote_literal} writes it: single quotes
   * doubled, and, if there is a backslash, the {@code E'…'} form with backslashes doubled, so the literal
   * reads back the same whatever {@code standard_conforming_strings} says.
   */
  public static String quoteLiteral(String text) {
    if (text == null) {
      throw new IllegalArgumentException("an SQL literal cannot be null here");
    }
    if (text.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("an SQL literal cannot contain a NUL character: " + text.replace('\0', '?'));
    }
    String quoted = "'" + text.replace("'", "''").replace("\\", "\\\\") + "'";
    return text.indexOf('\\') >= 0 ? "E" + quoted : quoted;
  }
}
