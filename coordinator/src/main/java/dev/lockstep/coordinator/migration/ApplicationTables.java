package dev.lockstep.coordinator.migration;

import dev.lockstep.rules.CatalogSnapshot;
import java.util.List;
import java.util.Set;

/**
 * The application's tables, as adopting a database sees them: every table of the catalog but those of PostgreSQL and
 * Lockstep, extension members, and the migration tool's own bookkeeping table in the current schema (which holds no
 * application data).
 *
 * <pre>{@code List<String> tables = ApplicationTables.of(snapshot, Set.of("alembic_version"));}</pre>
 */
public final class ApplicationTables {
  private ApplicationTables() {}

  /** @param toolTables the migration tool's own tables, by name, in the current schema */
  public static List<String> of(CatalogSnapshot snapshot, Set<String> toolTables) {
    return snapshot.tables().stream()
        .filter(t -> !t.extensionMember())
        .filter(t -> !(toolTables.contains(t.name().name()) && t.name().schema().equals(snapshot.currentSchema())))
        .map(t -> t.name().toString())
        .toList();
  }
}
