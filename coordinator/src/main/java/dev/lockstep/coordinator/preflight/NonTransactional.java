package dev.lockstep.coordinator.preflight;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Recognises SQL that PostgreSQL refuses to run inside a transaction block ({@code CREATE INDEX
 * CONCURRENTLY}, {@code VACUUM}, …). Such a migration makes a release non-atomic and cannot be
 * rehearsed in a rolled-back transaction.
 */
public final class NonTransactional {
  private static final Pattern STATEMENTS = Pattern.compile(
      "\\b(CONCURRENTLY|VACUUM|ALTER\\s+SYSTEM|CREATE\\s+DATABASE|DROP\\s+DATABASE|CREATE\\s+TABLESPACE|DROP\\s+TABLESPACE)\\b");

  private NonTransactional() {}

  public static boolean matches(String sql) {
    return STATEMENTS.matcher(withoutComments(sql).toUpperCase(Locale.ROOT)).find();
  }

  static String withoutComments(String sql) {
    return sql.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("--[^\\n]*", " ");
  }
}
