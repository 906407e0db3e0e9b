package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.set.MigrationSet;
import java.util.function.BooleanSupplier;

/**
 * One coordinator's hold on one release: the epoch it won, the set the release carries (read from
 * the store, never a local folder), the journal every write goes through, and whether this
 * coordinator is shutting down. Nothing here is progress: progress is what the journal stored.
 */
record Attempt(long epoch, MigrationSet set, ReleaseJournal journal, BooleanSupplier stopping) {

  String digest() {
    return set.digest();
  }

  /** A safe point: stop here if the coordinator is shutting down, so another instance resumes the release. */
  void checkStopping(String where) {
    if (stopping.getAsBoolean()) {
      throw new LockstepException(LockstepException.Code.STOPPING, "coordinator shutting down " + where);
    }
  }
}
