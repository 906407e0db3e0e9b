package dev.lockstep.protocol;

import java.util.List;

/**
 * The answer to {@code POST /v1/migration-sets/prune}: what was pruned ({@link #dryRun}: what would be).
 *
 * @param dryRun true if nothing was deleted
 * @param keep the request's {@code keep}
 * @param storedBefore with {@code olderThan}, the instant (ISO-8601) before which a set had to be stored to
 *     be pruned; null without
 * @param prunedAt when the sets were pruned, as {@code lockstep.pruned_sets} records it; null for a dry run
 * @param pruned the sets pruned, oldest first
 * @param kept how many stored sets remain
 * @param files how many stored files ({@code lockstep.migration_files} rows) were deleted: those no
 *     remaining set names; a file shared with a kept set stays
 * @param bytes the bytes of those files
 */
public record PruneReport(boolean dryRun, int keep, String storedBefore, String prunedAt, List<PrunedSet> pruned,
                          int kept, long files, long bytes) {
  public PruneReport {
    pruned = pruned == null ? List.of() : List.copyOf(pruned);
  }

  /**
   * One pruned set.
   *
   * @param digest its digest ({@link MigrationsDigest})
   * @param files how many files it named
   * @param bytes their total size (shared files included)
   * @param storedAt when it was first stored (ISO-8601)
   * @param releases the releases that carry it, oldest first: their documents stay, their set is gone
   */
  public record PrunedSet(String digest, int files, long bytes, String storedAt, List<String> releases) {
    public PrunedSet {
      releases = releases == null ? List.of() : List.copyOf(releases);
    }
  }
}
