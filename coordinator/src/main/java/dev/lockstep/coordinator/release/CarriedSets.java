package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The migration set a release carries, as a run gets it: from the store by the release's digest, never from a
 * local folder — except for a release created before sets were stored, which falls back to the engine's default set.
 *
 * <pre>{@code carried.of(doc).compose(set -> ...)}</pre>
 */
public final class CarriedSets {
  private static final Logger log = LoggerFactory.getLogger(CarriedSets.class);

  private final MigrationSetStore sets;
  private final MigrationEngine engine;
  private final WorkerExecutor worker;

  public CarriedSets(MigrationSetStore sets, MigrationEngine engine, WorkerExecutor worker) {
    this.sets = sets;
    this.engine = engine;
    this.worker = worker;
  }

  /**
   * The sets of the last few releases this coordinator created, by digest: the run that follows the request on this
   * coordinator takes its set from here instead of reading back (and digesting, and decoding) what it has just stored.
   * Same digest, same files; a run on another coordinator, or after a restart, reads the store as before.
   */
  private final Map<String, MigrationSet> created = new LinkedHashMap<>(8, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, MigrationSet> eldest) {
      return size() > 4;
    }
  };

  /** Remembers {@code set}, stored with a release this coordinator has just created. */
  void remember(MigrationSet set) {
    synchronized (created) {
      created.put(set.digest(), set);
    }
  }

  Future<MigrationSet> of(ReleaseDocument doc) {
    if (doc.migrationsDigest() == null) {
      log.warn("release {} carries no stored migration set (created by an older Lockstep); using the migrations folder",
          doc.id());
      return worker.executeBlocking(engine::folderSet, true);
    }
    MigrationSet known;
    synchronized (created) {
      known = created.get(doc.migrationsDigest());
    }
    if (known != null) {
      return Future.succeededFuture(known.from(MigrationSetStore.origin(doc.migrationsDigest(), doc.id())));
    }
    return sets.load(doc.migrationsDigest(), doc.id());
  }
}
