package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.LockstepException;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationVersion;

/**
 * Reads a schema version the way Flyway does ({@link MigrationVersion}): {@code 1_1} and {@code 1.1}
 * are one version, {@code 1.0} equals {@code 1}, and {@code 1.10} is above {@code 1.9}. Every
 * comparison of schema versions in Lockstep goes through {@code MigrationVersion}, never through text.
 */
public final class SchemaVersions {
  private SchemaVersions() {}

  /**
   * @throws LockstepException BAD_REQUEST naming the text if Flyway cannot read it as a version
   */
  public static MigrationVersion parse(String text) {
    if (text == null || text.isBlank() || text.length() > 100 || !text.matches("[0-9][0-9._]*")) {
      throw LockstepException.badRequest("schema must be a migration version like 3, 1.2 or 1_2 (got '" + text + "')");
    }
    try {
      return MigrationVersion.fromVersion(text);
    } catch (FlywayException e) {
      throw LockstepException.badRequest("schema '" + text + "' is not a Flyway version: " + e.getMessage());
    }
  }
}
