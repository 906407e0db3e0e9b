package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.error.LockstepException;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationVersion;

/**
 * Reads a schema version the way Flyway does ({@link MigrationVersion}): {@code 1_1} and {@code 1.1}
 * are one version, {@code 1.0} equals {@code 1}, and {@code 1.10} is above {@code 1.9}. Every
 * comparison of schema versions in Lockstep goes through {@code MigrationVersion}, never through text.
 */
public final class SchemaVersions {
  private SchemaVersions() {}

  /** {@code -N}: N versions below the database's current one ({@code alembic downgrade -1}). */
  private static final java.util.regex.Pattern STEPS_DOWN = java.util.regex.Pattern.compile("-([1-9][0-9]{0,5})");

  /** Steps down of a relative target such as {@code -2}, or empty for an absolute version. */
  public static java.util.OptionalInt stepsDown(String text) {
    java.util.regex.Matcher m = text == null ? null : STEPS_DOWN.matcher(text.strip());
    return m != null && m.matches() ? java.util.OptionalInt.of(Integer.parseInt(m.group(1))) : java.util.OptionalInt.empty();
  }

  /** Checks a requested schema: a version, or {@code -N}. */
  public static void check(String text) {
    if (stepsDown(text).isEmpty()) {
      parse(text);
    }
  }

  /**
   * @throws LockstepException BAD_REQUEST naming the text if Flyway cannot read it as a version
   */
  public static MigrationVersion parse(String text) {
    if (text == null || text.isBlank() || text.length() > 100 || !text.matches("[0-9][0-9._]*")) {
      throw LockstepException.badRequest("schema must be a migration version like 3, 1.2 or 1_2, or -N for N versions"
          + " down (got '" + text + "')");
    }
    try {
      return MigrationVersion.fromVersion(text);
    } catch (FlywayException e) {
      throw LockstepException.badRequest("schema '" + text + "' is not a Flyway version: " + e.getMessage());
    }
  }
}
