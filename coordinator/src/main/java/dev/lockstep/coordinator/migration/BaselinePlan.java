package dev.lockstep.coordinator.migration;

import dev.lockstep.protocol.BaselineReport;
import java.util.List;

/**
 * What adopting a database at a version means, as the engine sees it ({@link MigrationEngine#baselinePlan}): the
 * version it would record, the application's tables, and — where the engine can tell (Flyway) — what each migration
 * would create and whether it exists, the version it suggests, and what the operator should check first.
 *
 * @param shown the version as the report names it (the request's text for Flyway; the revision it resolves to for
 *     Alembic)
 * @param version the version as the engine records it ({@code V001} records {@code 001}; an Alembic revision id)
 * @param description what the history calls the baseline
 * @param tables the application's tables, {@code schema.name}, ordered
 * @param migrations each migration of the set and whether the baseline covers it; empty where the engine cannot tell
 * @param suggested the highest version whose migrations create only objects that exist, or null
 * @param warnings what to check by hand before recording it
 */
public record BaselinePlan(String shown, String version, String description, List<String> tables, List<BaselineReport.Migration> migrations,
                           String suggested, List<String> warnings) {
  public BaselinePlan {
    tables = List.copyOf(tables);
    migrations = List.copyOf(migrations);
    warnings = List.copyOf(warnings);
  }

  /** The labels of the migrations the baseline records as applied without running them. */
  public List<String> covered() {
    return migrations.stream().filter(BaselineReport.Migration::covered).map(BaselineReport.Migration::label).toList();
  }
}
