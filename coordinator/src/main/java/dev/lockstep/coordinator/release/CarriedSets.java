package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
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

  Future<MigrationSet> of(ReleaseDocument doc) {
    if (doc.migrationsDigest() == null) {
      log.warn("release {} carries no stored migration set (created by an older Lockstep); using the migrations folder",
          doc.id());
      return worker.executeBlocking(engine::folderSet, true);
    }
    return sets.load(doc.migrationsDigest(), doc.id());
  }
}
