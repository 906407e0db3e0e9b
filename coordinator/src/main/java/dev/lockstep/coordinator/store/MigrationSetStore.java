package dev.lockstep.coordinator.store;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.coordinator.migration.MigrationSet;
import dev.lockstep.protocol.MigrationsDigest;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
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
 *
 * <pre>{@code MigrationSet set = sets.load(doc.migrationsDigest(), doc.id()).result();}</pre>
 */
public final class MigrationSetStore {
  private final Pool pool;
  private final WorkerExecutor worker;

  /** @param worker where a loaded set is decoded and checked (up to 8 MiB of hashing and parsing): never the event loop */
  public MigrationSetStore(Pool pool, WorkerExecutor worker) {
    this.pool = pool;
    this.worker = worker;
  }

  /** Stores {@code set} on {@code conn} (in the caller's transaction) unless a set of that digest is stored already. */
  static Future<Void> insert(SqlConnection conn, MigrationSet set) {
    SortedMap<String, byte[]> bytes = set.bytes();
    long total = bytes.values().stream().mapToLong(b -> b.length).sum();
    return conn.preparedQuery("INSERT INTO lockstep.migration_sets (digest, files, bytes) VALUES ($1, $2, $3)"
            + " ON CONFLICT (digest) DO NOTHING RETURNING digest")
        .execute(Tuple.of(set.digest(), bytes.size(), total))
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
   * The stored set of {@code digest}, its digest checked against its bytes.
   *
   * @param release the release that carries it, for messages
   */
  public Future<MigrationSet> load(String digest, String release) {
    return pool.preparedQuery("SELECT s.name, f.content FROM lockstep.migration_sets m"
            + " LEFT JOIN lockstep.migration_set_files s ON s.digest = m.digest"
            + " LEFT JOIN lockstep.migration_files f ON f.sha256 = s.sha256 WHERE m.digest = $1")
        .execute(Tuple.of(digest))
        .compose(rows -> worker.executeBlocking(() -> {
          if (rows.size() == 0) {
            throw new LockstepException(LockstepException.Code.NOT_FOUND, "the migration set " + MigrationsDigest.shortForm(digest)
                + " of release " + release + " is not stored (pruned, or the lockstep schema was restored without it)");
          }
          SortedMap<String, byte[]> files = new TreeMap<>();
          for (Row row : rows) {
            if (row.getString(0) != null) {
              files.put(row.getString(0), row.getBuffer(1).getBytes());
            }
          }
          MigrationSet set = MigrationSet.of("the set " + MigrationsDigest.shortForm(digest) + " of release " + release, files);
          if (!set.digest().equals(digest)) {
            throw new LockstepException(LockstepException.Code.INTERNAL, "the stored migration set " + digest + " of release "
                + release + " reads back with digest " + set.digest() + "; the lockstep schema was changed by hand");
          }
          return set;
        }, false));
  }


}
