package dev.lockstep.coordinator.migration;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
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

  /** The finding of a database the application migrated itself: tables, but nothing in the tool's history. */
  public static final String UNADOPTED = "unadopted-database";
  private static final int TABLES_NAMED = 10;

  /**
   * The {@value #UNADOPTED} finding, which blocks a release.
   *
   * @param noHistory what the tool's history lacks, e.g. "no Flyway history"
   * @param steps what the tool's steps are called, e.g. "migrations"
   * @param adoptWith the command that adopts the database, and what to give it
   */
  public static Finding unadopted(List<String> tables, String noHistory, String steps, String adoptWith) {
    return new Finding(UNADOPTED, Severity.BLOCK, "database", "the database has " + tables.size() + " table(s) ("
        + named(tables) + ") but " + noHistory + ", so Lockstep cannot tell which " + steps + " it already has; nothing"
        + " was run. Adopt it first with " + adoptWith + ", then release again", List.of());
  }

  /** The first ten of {@code tables}, and how many more. */
  public static String named(List<String> tables) {
    return String.join(", ", tables.subList(0, Math.min(TABLES_NAMED, tables.size())))
        + (tables.size() > TABLES_NAMED ? " and " + (tables.size() - TABLES_NAMED) + " more" : "");
  }
}
