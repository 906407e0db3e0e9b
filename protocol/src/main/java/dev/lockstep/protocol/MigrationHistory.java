package dev.lockstep.protocol;

import java.util.List;

/**
 * {@code GET /v1/migrations}: what Flyway's history says was applied (by whom, when, by which release
 * and from which migration set), what is pending in the set it was compared with, the repairs
 * Lockstep made, and the baseline that adopted the database, if one did.
 *
 * @param pendingFrom where the pending migrations come from: the coordinator's folder, or the set of the
 *     latest release when the coordinator has no folder; null if neither exists
 * @param baseline the newest baseline of the service ({@code lockstep baseline}): who recorded which version
 *     as applied without running it, and when; null if the database was never baselined by Lockstep
 */
public record MigrationHistory(String service, String current, List<Entry> applied, List<Entry> pending,
                               List<Repair> repairs, String pendingFrom, Baseline baseline) {

  /** The same history, showing {@code baseline}. */
  public MigrationHistory withBaseline(Baseline baseline) {
    return new MigrationHistory(service, current, applied, pending, repairs, pendingFrom, baseline);
  }

  /**
   * One migration.
   *
   * @param version its version
   * @param description its description
   * @param script the file
   * @param state Flyway's state (Success, Failed, Pending, …)
   * @param installedBy database user that applied it, or null
   * @param installedOn when (ISO-8601), or null
   * @param executionMs how long it took, or null
   * @param releaseId the release that applied it, or null (applied outside Lockstep, or pending)
   * @param migrationsDigest the digest of the migration set that release carried, or null
   * @param coordinator the coordinator instance that ran that release, or null
   * @param requestedBy who started that release (the operator token's name), or null
   * @param contract a contract migration (Flyway's {@code contract/} folder, Alembic's {@code lockstep_phase =
   *     "contract"}): it runs after the switch, once no server runs another revision
   */
  public record Entry(String version, String description, String script, String state, String installedBy,
                      String installedOn, Integer executionMs, String releaseId, String migrationsDigest,
                      String coordinator, String requestedBy, boolean contract) {

    public Entry(String version, String description, String script, String state, String installedBy,
                 String installedOn, Integer executionMs, String releaseId, String migrationsDigest, boolean contract) {
      this(version, description, script, state, installedBy, installedOn, executionMs, releaseId, migrationsDigest, null, null,
          contract);
    }

    /**
     * The same entry, attributed to the release that applied it, its set, the coordinator instance that ran it and
     * the operator who started it.
     */
    public Entry appliedBy(String release, String digest, String instance, String requester) {
      return new Entry(version, description, script, state, installedBy, installedOn, executionMs, release, digest, instance,
          requester, contract);
    }
  }

  /** A repair Lockstep applied during a release. */
  public record Repair(String releaseId, String rule, String object, String statement, String appliedAt) {}
}
