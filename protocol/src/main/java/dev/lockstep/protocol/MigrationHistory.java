package dev.lockstep.protocol;

import java.util.List;

/**
 * {@code GET /v1/migrations}: what Flyway's history says was applied (by whom, when), what is
 * pending in the migrations folder, and the repairs Lockstep made.
 */
public record MigrationHistory(String service, String current, List<Entry> applied, List<Entry> pending,
                               List<Repair> repairs) {

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
   */
  public record Entry(String version, String description, String script, String state, String installedBy,
                      String installedOn, Integer executionMs) {}

  /** A repair Lockstep applied during a release. */
  public record Repair(String releaseId, String rule, String object, String statement, String appliedAt) {}
}
