package dev.lockstep.protocol;

import java.util.List;

/**
 * The answer to {@code POST /v1/baseline}: what is in the database, what baselining it at {@code schema}
 * means for each migration of the set, and, unless {@link #dryRun}, the baseline recorded.
 *
 * @param service the service
 * @param schema the version asked for
 * @param dryRun true if nothing was recorded
 * @param tables the application's tables (every schema but PostgreSQL's own and {@code lockstep}), {@code schema.name}
 * @param migrations every {@code V…} migration of the set, oldest first, with what it creates and whether that exists
 * @param suggested the highest version up to which every migration creates only objects that exist here
 *     (migrations that create nothing recognisable do not count against it); null if V1 already creates something
 *     missing
 * @param warnings what the operator should look at before confirming: covered migrations whose objects are missing,
 *     later ones whose objects exist already, migrations whose effect cannot be checked
 * @param migrationsDigest the digest of the set compared with
 * @param baseline the baseline recorded; null for a dry run
 */
public record BaselineReport(String service, String schema, boolean dryRun, List<String> tables, List<Migration> migrations,
                             String suggested, List<String> warnings, String migrationsDigest, Baseline baseline) {
  public BaselineReport {
    tables = tables == null ? List.of() : List.copyOf(tables);
    migrations = migrations == null ? List.of() : List.copyOf(migrations);
    warnings = warnings == null ? List.of() : List.copyOf(warnings);
  }

  /**
   * One migration of the set.
   *
   * @param covered whether the baseline records it as applied (its version is at most {@code schema})
   * @param creates the objects it would create, each saying whether it exists already
   */
  public record Migration(String version, String description, String script, boolean covered, List<Created> creates) {
    public Migration {
      creates = creates == null ? List.of() : List.copyOf(creates);
    }

    /** {@code V2 (create orders)}. */
    public String label() {
      return "V" + version + " (" + description + ")";
    }
  }

  /**
   * An object a migration would create.
   *
   * @param kind {@code table}, {@code index}, {@code sequence}, {@code view}, {@code materialized view}, {@code type},
   *     {@code domain}, {@code schema}, {@code extension}, {@code column} or {@code constraint}
   * @param name as the migration names it ({@code public.users}, {@code users.email} for a column)
   * @param exists whether the database has it now
   * @param line the line of the statement that creates it
   */
  public record Created(String kind, String name, boolean exists, int line) {}
}
