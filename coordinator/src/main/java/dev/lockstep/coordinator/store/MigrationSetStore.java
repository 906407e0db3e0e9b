package dev.lockstep.coordinator.store;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.PruneReport;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The migration sets releases carry, content-addressed in {@code lockstep}: a set is stored once per
 * digest ({@code migration_sets}), and each file's bytes once per SHA-256 ({@code migration_files}), so a
 * chain that grows by one file per release costs one file per release. A set is written in the
 * transaction that creates its release ({@link ReleaseStore#create}), so a refused release leaves
 * nothing behind; it is read back, and its digest checked, by whichever coordinator runs the release.
 * Sets no release needs any more are deleted only when an operator asks ({@link #prune}); a release whose
 * set was pruned stays, and loading its set is a {@code PRUNED} (410) failure saying when.
 *
 * <pre>{@code MigrationSet set = sets.load(doc.migrationsDigest(), doc.id()).result();
 * PruneReport report = sets.prune(10, Duration.ofDays(30), true).result();   // what would go}</pre>
 */
public final class MigrationSetStore {
  private final Pool pool;
  private final WorkerExecutor worker;

  /** @param worker where a loaded set is decoded and checked (up to 8 MiB of hashing and parsing): never the event loop */
  public MigrationSetStore(Pool pool, WorkerExecutor worker) {
    this.pool = pool;
    this.worker = worker;
  }

  /**
   * Stores {@code set} on {@code conn} (in the caller's transaction) unless a set of that digest is stored already.
   * Its first statement writes {@code migration_sets}, so it waits for a {@link #prune} in progress (which
   * holds that table in SHARE ROW EXCLUSIVE mode), and a prune waits for this transaction: a set a
   * committing release refers to is never deleted under it, whether it was stored before or is stored here.
   */
  static Future<Void> insert(SqlConnection conn, MigrationSet set) {
    SortedMap<String, byte[]> bytes = set.bytes();
    long total = bytes.values().stream().mapToLong(b -> b.length).sum();
    return conn.preparedQuery("INSERT INTO lockstep.migration_sets (digest, files, bytes) VALUES ($1, $2, $3)"
            + " ON CONFLICT (digest) DO NOTHING RETURNING digest")
        .execute(Tuple.of(set.digest(), bytes.size(), total))
        .compose(rows -> rows.size() == 0 ? Future.succeededFuture(rows)
            // Stored again after a prune: no longer gone.
            : conn.preparedQuery("DELETE FROM lockstep.pruned_sets WHERE digest = $1").execute(Tuple.of(set.digest())).map(rows))
        .compose(rows -> {
          if (rows.size() == 0 || bytes.isEmpty()) {
            return Future.succeededFuture();
          }
          List<Tuple> contents = new ArrayList<>();
          List<Tuple> names = new ArrayList<>();
          for (Map.Entry<String, byte[]> file : bytes.entrySet()) {
            String sha = set.sha256(file.getKey());
            contents.add(Tuple.of(sha, Buffer.buffer(file.getValue())));
            names.add(Tuple.of(set.digest(), file.getKey(), sha));
          }
          return conn.preparedQuery("INSERT INTO lockstep.migration_files (sha256, content) VALUES ($1, $2)"
                  + " ON CONFLICT (sha256) DO NOTHING").executeBatch(contents)
              .compose(v -> conn.preparedQuery("INSERT INTO lockstep.migration_set_files (digest, name, sha256)"
                  + " VALUES ($1, $2, $3)").executeBatch(names))
              .mapEmpty();
        });
  }

  /**
   * Stores {@code set} in a transaction of its own, unless a set of that digest is stored already: a set an agent sent
   * before any release carries it ({@code --migrations-from agents}). A prune may delete it again while no release
   * carries it and it is older than the prune's age.
   */
  public Future<Void> store(MigrationSet set) {
    return pool.withTransaction(conn -> insert(conn, set));
  }

  /** Whether a set of {@code digest} is stored now. */
  public Future<Boolean> exists(String digest) {
    return pool.preparedQuery("SELECT 1 FROM lockstep.migration_sets WHERE digest = $1").execute(Tuple.of(digest))
        .map(rows -> rows.size() > 0);
  }

  /**
   * The stored set of {@code digest}, its digest checked against its bytes.
   *
   * @param release the release that carries it, for messages
   */
  public Future<MigrationSet> load(String digest, String release) {
    return pool.preparedQuery("SELECT s.name, f.content FROM lockstep.migration_sets m"
            + " LEFT JOIN lockstep.migration_set_files s ON s.digest = m.digest"
            + " LEFT JOIN lockstep.migration_files f ON f.sha256 = s.sha256 WHERE m.digest = $1")
        .execute(Tuple.of(digest))
        .compose(rows -> rows.size() == 0 ? missing(digest, release) : worker.executeBlocking(() -> {
          SortedMap<String, byte[]> files = new TreeMap<>();
          for (Row row : rows) {
            if (row.getString(0) != null) {
              files.put(row.getString(0), row.getBuffer(1).getBytes());
            }
          }
          MigrationSet set = MigrationSet.of(origin(digest, release), files);
          if (!set.digest().equals(digest)) {
            throw new LockstepException(LockstepException.Code.INTERNAL, "the stored migration set " + digest + " of release "
                + release + " reads back with digest " + set.digest() + "; the lockstep schema was changed by hand");
          }
          return set;
        }, false));
  }

  /** How messages name the stored set of {@code digest} as release {@code release} carries it. */
  public static String origin(String digest, String release) {
    return "the set " + MigrationsDigest.shortForm(digest) + " of release " + release;
  }

  /** Why the set of {@code digest} is not stored: pruned (410, saying when), or never seen (404). */
  private Future<MigrationSet> missing(String digest, String release) {
    return pool.preparedQuery("SELECT pruned_at, files, bytes FROM lockstep.pruned_sets WHERE digest = $1")
        .execute(Tuple.of(digest))
        .compose(rows -> {
          if (rows.size() == 0) {
            return Future.failedFuture(LockstepException.notFound("the migration set " + digest + " of release " + release
                + " is not stored (the lockstep schema was restored without it, or changed by hand)"));
          }
          Row pruned = rows.iterator().next();
          return Future.failedFuture(new LockstepException(LockstepException.Code.PRUNED, "the migration set " + digest
              + " of release " + release + " was pruned at " + pruned.getOffsetDateTime(0).toInstant() + " (lockstep prune): its "
              + pruned.getInteger(1) + " files (" + pruned.getLong(2) + " bytes) are no longer stored; the release"
              + " document stays as history"));
        });
  }

  /**
   * Deletes the contents of every stored set no release needs, then every stored file no remaining set
   * names. A set is kept while an unfinished release carries it, while one of the {@code keep} newest
   * releases of its service carries it (newest by creation, whatever their phase), or, with {@code
   * olderThan}, while it was stored less than that long ago. Each pruned set is recorded in {@code
   * pruned_sets}. Releases are never deleted.
   *
   * <p>One transaction that first takes {@code migration_sets} in SHARE ROW EXCLUSIVE mode: it waits for
   * releases being created (their {@link #insert} holds ROW EXCLUSIVE until they commit) and makes new ones
   * wait until it commits, so the references it reads are all there are, and a dry run's figures are the
   * ones a prune at that moment would have.
   *
   * @param keep at least 1
   * @param olderThan null for any age
   * @param dryRun compute the same answer and delete nothing
   */
  public Future<PruneReport> prune(int keep, Duration olderThan, boolean dryRun) {
    if (keep < 1) {
      return Future.failedFuture(new IllegalArgumentException("keep must be at least 1, not " + keep));
    }
    return pool.withTransaction(conn -> conn.query("LOCK TABLE lockstep.migration_sets IN SHARE ROW EXCLUSIVE MODE").execute()
        .compose(v -> conn.preparedQuery(PRUNE_CANDIDATES)
            .execute(Tuple.of(keep, olderThan == null ? null : olderThan.toMillis())))
        .compose(sets -> {
          List<PruneReport.PrunedSet> pruned = new ArrayList<>();
          int kept = 0;
          OffsetDateTime now = null;
          OffsetDateTime storedBefore = null;
          for (Row row : sets) {
            now = row.getOffsetDateTime("now");
            storedBefore = row.getOffsetDateTime("stored_before");
            if (row.getString("digest") == null) {
              continue; // no set is stored
            }
            if (row.getBoolean("kept")) {
              kept++;
            } else {
              pruned.add(new PruneReport.PrunedSet(row.getString("digest"), row.getInteger("files"), row.getLong("bytes"),
                  row.getOffsetDateTime("created_at").toInstant().toString(), List.of(row.getArrayOfStrings("releases"))));
            }
          }
          String[] digests = pruned.stream().map(PruneReport.PrunedSet::digest).toArray(String[]::new);
          int remaining = kept;
          String prunedAt = dryRun || now == null ? null : now.toInstant().toString();
          String cutoff = storedBefore == null ? null : storedBefore.toInstant().toString();
          return conn.preparedQuery("SELECT f.sha256, octet_length(f.content) FROM lockstep.migration_files f WHERE NOT EXISTS"
                  + " (SELECT 1 FROM lockstep.migration_set_files s WHERE s.sha256 = f.sha256 AND s.digest <> ALL($1))")
              .execute(Tuple.tuple().addArrayOfString(digests))
              .compose(files -> {
                List<String> shas = new ArrayList<>();
                long bytes = 0;
                for (Row file : files) {
                  shas.add(file.getString(0));
                  bytes += file.getLong(1);
                }
                PruneReport report = new PruneReport(dryRun, keep, cutoff, prunedAt, pruned, remaining, shas.size(), bytes);
                return dryRun ? Future.succeededFuture(report) : delete(conn, pruned, shas).map(report);
              });
        }));
  }

  // Every stored set, whether it stays, and which releases carry it (one row of nulls besides now() when no
  // set is stored). now() is the transaction's start, just before the lock; pruned_sets records the same
  // instant. `newest` counts each service's releases from its newest, as `latestMigrationsDigest` orders them.
  private static final String PRUNE_CANDIDATES = """
      WITH carried AS (
        SELECT id, created_at, phase, document->>'migrationsDigest' AS digest,
               row_number() OVER (PARTITION BY service ORDER BY created_at DESC, id DESC) AS newest
        FROM lockstep.releases),
      cutoff AS (SELECT now() AS now, now() - $2::bigint * interval '1 millisecond' AS stored_before)
      SELECT s.digest, s.files, s.bytes, s.created_at, cutoff.now, cutoff.stored_before,
             EXISTS (SELECT 1 FROM carried c WHERE c.digest = s.digest
                     AND (c.newest <= $1 OR c.phase NOT IN ('COMPLETED', 'ABORTED', 'FAILED')))
               OR coalesce(s.created_at >= cutoff.stored_before, false) AS kept,
             ARRAY(SELECT c.id FROM carried c WHERE c.digest = s.digest ORDER BY c.created_at, c.id) AS releases
      FROM cutoff LEFT JOIN lockstep.migration_sets s ON true
      ORDER BY s.created_at, s.digest""";

  private static Future<Void> delete(SqlConnection conn, List<PruneReport.PrunedSet> pruned, List<String> shas) {
    Future<Void> sets = Future.succeededFuture();
    if (!pruned.isEmpty()) {
      List<Tuple> records = pruned.stream().map(p -> Tuple.of(p.digest(), p.files(), p.bytes())).toList();
      sets = conn.preparedQuery("DELETE FROM lockstep.migration_sets WHERE digest = ANY($1)") // names go with it (ON DELETE CASCADE)
          .execute(Tuple.tuple().addArrayOfString(pruned.stream().map(PruneReport.PrunedSet::digest).toArray(String[]::new)))
          .compose(v -> conn.preparedQuery("INSERT INTO lockstep.pruned_sets (digest, pruned_at, files, bytes)"
                  + " VALUES ($1, now(), $2, $3) ON CONFLICT (digest) DO UPDATE"
                  + " SET pruned_at = excluded.pruned_at, files = excluded.files, bytes = excluded.bytes")
              .executeBatch(records))
          .mapEmpty();
    }
    return shas.isEmpty() ? sets : sets.compose(v -> conn.preparedQuery("DELETE FROM lockstep.migration_files WHERE sha256 = ANY($1)")
        .execute(Tuple.tuple().addArrayOfString(shas.toArray(String[]::new))).mapEmpty());
  }
}
