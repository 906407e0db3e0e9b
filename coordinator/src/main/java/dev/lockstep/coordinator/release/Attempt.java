package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.set.MigrationSet;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

/**
 * One coordinator's hold on one release: the epoch it won, the set the release carries (read from
 * the store, never a local folder), the journal every write goes through, whether this
 * coordinator is shutting down, and what a phase began ahead for a later one ({@link #ahead}), ended with the run.
 * Nothing here is progress: progress is what the journal stored.
 */
record Attempt(long epoch, MigrationSet set, ReleaseJournal journal, BooleanSupplier stopping,
               List<MigrationEngine.Ahead> begunAhead) {

  Attempt(long epoch, MigrationSet set, ReleaseJournal journal, BooleanSupplier stopping) {
    this(epoch, set, journal, stopping, new CopyOnWriteArrayList<>());
  }

  /** Keeps {@code begun} until the run ends ({@link #endAhead}), unless a later phase takes it over first. */
  void ahead(MigrationEngine.Ahead begun) {
    begunAhead.add(begun);
  }

  /** The run ended (done, failed, handed over): what was begun ahead and not taken over is ended too. */
  void endAhead() {
    begunAhead.forEach(MigrationEngine.Ahead::close);
    begunAhead.clear();
  }

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
