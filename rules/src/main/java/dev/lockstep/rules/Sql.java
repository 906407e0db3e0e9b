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
}
