package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.migration.ApplicationTables;
import dev.lockstep.coordinator.migration.BaselinePlan;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.Finding;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import org.flywaydb.core.api.MigrationVersion;

/**
 * Adopting a database the application migrated itself, the Flyway way: the pre-flight finding that blocks a release
 * until it is adopted, and the plan of {@code lockstep baseline} (what a baseline at a version would record, and
 * whether the database has what the set's migrations up to it create), both read by {@link FlywayBaselineInspection}.
 */
final class FlywayAdoption {
  private FlywayAdoption() {}

  /**
   * Tables but no Flyway history: the application migrated itself until now, so Lockstep cannot tell which migrations
   * it has; the finding suggests the version to baseline at when the set's migrations up to it create only objects
   * that exist. Reads the catalog only when Flyway saw no applied migration: an adopted database costs nothing.
   */
  static Optional<Finding> finding(Connection connection, MigrationSet set, MigrationPlan plan) throws SQLException {
    if (plan.current() != null) {
      return Optional.empty();
    }
    FlywayBaselineInspection.Result found = FlywayBaselineInspection.inspect(connection, FlywaySet.of(set));
    if (!found.unadopted()) {
      return Optional.empty();
    }
    String suggested = found.suggested();
    String how = suggested != null
        ? "lockstep baseline --schema " + suggested + " (the set's migrations up to V" + suggested
            + " create only objects that exist here; the command shows what is there before it records anything)"
        : "lockstep baseline --schema V, V being the last migration whose changes the database already has (no"
            + " migration of the set creates only objects that exist here, so look at the report of lockstep baseline"
            + " --schema V --dry-run first)";
    return Optional.of(ApplicationTables.unadopted(found.tables(), "no Flyway history", "migrations", how));
  }

  /**
   * What Flyway's baseline at {@code schema} means here: the tables, what each migration of the set would create and
   * whether it exists, the version suggested, what to check by hand. Refused when Flyway's history has rows already
   * (409, naming its version: release instead), when there are no tables (422: nothing to adopt), or when the set has
   * no such version (422).
   */
  static BaselinePlan plan(Connection connection, MigrationSet files, String schema) throws SQLException {
    MigrationVersion version = FlywaySet.parseSchema(schema);
    FlywaySet set = FlywaySet.of(files);
    PendingMigration baselined = set.migration(version);
    if (baselined == null) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "schema version " + schema
          + " is not in " + files.origin() + (set.newest() == null ? ", which holds no V… migrations"
              : "; a baseline records one of its versions (the newest is " + set.newest() + ")"));
    }
    FlywayBaselineInspection.Result found = FlywayBaselineInspection.inspect(connection, set);
    if (found.historyRows() > 0) {
      throw LockstepException.conflict("the database already has Flyway history (" + found.historyRows() + " row(s) in "
          + "flyway_schema_history, " + (found.historyVersion() == null ? "no version applied successfully"
              : "at version " + found.historyVersion()) + "): it is adopted already and a baseline would rewrite what it"
          + " says; release to move it on (lockstep release), and see lockstep history");
    }
    if (found.tables().isEmpty()) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "the database has no tables (outside PostgreSQL's"
          + " own schemas and lockstep): there is nothing to adopt; just release (lockstep release --revision R), which"
          + " applies every migration from the first");
    }
    // As the set's file writes it: V001 records 001.
    return new BaselinePlan(schema, baselined.version(), FlywayEngine.BASELINE_DESCRIPTION, found.tables(), found.report(version),
        found.suggested(), found.warnings(version));
  }
}
