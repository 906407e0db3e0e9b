package dev.lockstep.coordinator.preflight;

import dev.lockstep.coordinator.migration.BaselineInspection;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.MigrationSet;
import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * {@code unadopted-database} (block): the database has tables but Flyway's history is empty or absent —
 * the app migrated itself until now (Alembic, by hand) — so Lockstep cannot tell which migrations it
 * already has, and the first one would fail on, or worse build beside, what exists. Nothing is ever
 * baselined silently: the finding says to run {@code lockstep baseline --schema V}, and suggests V when
 * the set's migrations show it ({@link BaselineInspection.Result#suggested()}).
 */
final class AdoptionFindings {
  static final String RULE = "unadopted-database";
  private static final int TABLES_NAMED = 10;

  private AdoptionFindings() {}

  /** Reads the catalog only when Flyway saw no applied migration ({@code plan.current()} null): an adopted database costs nothing. */
  static Optional<Finding> of(Connection connection, MigrationSet set, MigrationPlan plan) throws SQLException {
    if (plan.current() != null) {
      return Optional.empty();
    }
    BaselineInspection.Result found = BaselineInspection.inspect(connection, set);
    if (!found.unadopted()) {
      return Optional.empty();
    }
    List<String> tables = found.tables();
    String named = String.join(", ", tables.subList(0, Math.min(TABLES_NAMED, tables.size())))
        + (tables.size() > TABLES_NAMED ? " and " + (tables.size() - TABLES_NAMED) + " more" : "");
    String suggested = found.suggested();
    if (set.kind() == MigrationSet.Kind.ALEMBIC) {
      return Optional.of(new Finding(RULE, Severity.BLOCK, "database", "the database has " + tables.size() + " table(s) ("
          + named + ") but no Alembic revision in alembic_version, so Lockstep cannot tell which revisions it already has;"
          + " nothing was run. Adopt it first with lockstep baseline --schema REV (alembic stamp REV, fenced), REV being"
          + " the last revision whose changes the database already has, then release again", List.of()));
    }
    String how = suggested != null
        ? "lockstep baseline --schema " + suggested + " (the set's migrations up to V" + suggested
            + " create only objects that exist here; the command shows what is there before it records anything)"
        : "lockstep baseline --schema V, V being the last migration whose changes the database already has (no"
            + " migration of the set creates only objects that exist here, so look at the report of lockstep baseline"
            + " --schema V --dry-run first)";
    return Optional.of(new Finding(RULE, Severity.BLOCK, "database", "the database has " + tables.size() + " table(s) ("
        + named + ") but no Flyway history, so Lockstep cannot tell which migrations it already has; nothing was run."
        + " Adopt it first with " + how + ", then release again", List.of()));
  }
}
