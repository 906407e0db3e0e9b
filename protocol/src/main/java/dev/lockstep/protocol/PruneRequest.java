package dev.lockstep.protocol;

/**
 * {@code POST /v1/migration-sets/prune}: which stored migration sets to delete ({@code lockstep prune}).
 * A set is kept while an unfinished release carries it, while one of the {@code keep} newest releases of
 * its service carries it, or, with {@code olderThan}, while it was stored less than that long ago; every
 * other set's contents are deleted. Releases themselves are never deleted.
 *
 * <pre>{@code new PruneRequest(10, "30d", true)   // what keeping 10 per service would prune, deleting nothing}</pre>
 *
 * @param keep how many of each service's newest releases keep their set; required, at least 1
 * @param olderThan only sets stored longer ago than this may go ({@code 12h}, {@code 30d}); null: any age
 * @param dryRun answer the same figures and delete nothing
 */
public record PruneRequest(Integer keep, String olderThan, boolean dryRun) {}
