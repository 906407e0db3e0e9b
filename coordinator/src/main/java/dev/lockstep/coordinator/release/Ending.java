package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.error.LockstepException.Code;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a run that could not go on ends, decided from what PostgreSQL holds, not from what the run
 * remembers: the phase stored says whether the fleet was told (it is told in the transaction that
 * enters PREPARING), and Flyway's history says whether the schema moved. ABORTED only ever means
 * "no schema change committed".
 *
 * <ul>
 *   <li>FENCED: another coordinator owns the release; write nothing.
 *   <li>STOPPING: this coordinator shuts down; record the handover and leave the phase as it is.
 *   <li>before MIGRATING: ABORTED; agents told (PREPARING) run their abort hook.
 *   <li>MIGRATING, schema where it was: ABORTED for a block, else FAILED; agents abort to the old code.
 *   <li>MIGRATING, schema moved (a non-atomic release stopped part-way, in this run or an earlier one):
 *       FAILED; maintenance agents hold, not serving; online agents abort (the release only adds).
 *   <li>SWITCHING: FAILED; agents are told nothing new, those that switched stay switched.
 *   <li>CONTRACTING: COMPLETED, the contract {@code failed} (it is one transaction: nothing of it stayed).
 * </ul>
 */
public final class Ending {
  private static final Logger log = LoggerFactory.getLogger(Ending.class);

  /** What ending a release writes: its terminal phase, the reason, and what the fleet is told (null: nothing). */
  record End(Phase phase, String reason, FleetInstruction instruction) {}

  private final MigrationEngine migrations;
  private final WorkerExecutor worker;
  private final String instanceId;

  public Ending(MigrationEngine migrations, WorkerExecutor worker, String instanceId) {
    this.migrations = migrations;
    this.worker = worker;
    this.instanceId = instanceId;
  }

  /** Ends the run: a terminal write (with the fleet told as {@link #decide} says), a handover note, or nothing. */
  Future<Void> end(Throwable e, Attempt attempt) {
    ReleaseJournal journal = attempt.journal();
    ReleaseDocument stored = journal.stored();
    if (LockstepException.is(e, Code.FENCED)) {
      log.error("release {}: {}; stopping without another write", stored.id(), e.getMessage());
      return Future.succeededFuture();
    }
    if (LockstepException.is(e, Code.STOPPING)) {
      return journal.write(stored, stored.phase() + ": coordinator " + instanceId + " is shutting down; handed the release"
              + " over at a safe point (" + e.getMessage() + "); another coordinator resumes it at " + stored.phase())
          .<Void>mapEmpty()
          .recover(err -> noted(stored, "the handover", err));
    }
    if (!(e instanceof LockstepException)) {
      log.error("release {}: unexpected error in {}", stored.id(), stored.phase(), e);
    }
    Future<String> schemaNow = stored.phase() == Phase.MIGRATING
        ? worker.<String>executeBlocking(() -> migrations.plan(attempt.set(), stored.schema()).current(), true)
            .recover(err -> {
              log.warn("release {}: could not read the schema version after the failure ({}); assuming it moved",
                  stored.id(), err.getMessage());
              return Future.succeededFuture("(unknown)");
            })
        : Future.succeededFuture(stored.fromSchema());
    return schemaNow.compose(now -> {
      End end = decide(stored, e, now);
      log.warn("release {} {}: {}", stored.id(), end.phase(), end.reason());
      ReleaseDocument ended = ended(stored, end);
      boolean told = stored.phase().ordinal() >= Phase.PREPARING.ordinal();
      Future<ReleaseDocument> written = told && end.instruction() != FleetInstruction.NONE
          ? journal.tell(ended, end.phase() + ": " + end.reason(), end.instruction() == FleetInstruction.HOLD)
          : journal.write(ended, end.phase() + ": " + end.reason());
      return written.<Void>mapEmpty().recover(err -> noted(stored, end.phase().name(), err));
    });
  }

  /**
   * The release as it ends: its terminal phase and reason, and its contract — failed, when a CONTRACTING run could not
   * go on (the release itself completed); not run, when the release ended before CONTRACTING.
   */
  static ReleaseDocument ended(ReleaseDocument stored, End end) {
    if (stored.phase() == Phase.CONTRACTING) {
      return stored.toBuilder().phase(end.phase()).contract(stored.contract().failed(end.reason()
          + "; the schema is as it was before the contract; apply it with lockstep contract --service " + stored.service()))
          .build();
    }
    ReleaseDocument.Builder ended = stored.toBuilder().phase(end.phase()).reason(end.reason());
    if (stored.contract().any()) {
      ended.contract(stored.contract().notRun("the release ended " + end.phase() + " before its contract"));
    }
    return ended.build();
  }

  /** The end of a release stored at {@code stored.phase()} that stopped with {@code e}, the schema now at {@code schemaNow}. */
  static End decide(ReleaseDocument stored, Throwable e, String schemaNow) {
    String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    boolean blocked = LockstepException.is(e, Code.ABORTED);
    switch (stored.phase()) {
      case PLANNED, PREFLIGHT, PREPARING -> {
        return new End(Phase.ABORTED, reason, FleetInstruction.ABORT);
      }
      case MIGRATING -> {
        String from = Releases.orNone(stored.fromSchema());
        if (java.util.Objects.equals(schemaNow, stored.fromSchema())) {
          return new End(blocked ? Phase.ABORTED : Phase.FAILED,
              reason + (blocked ? "" : "; the release was rolled back whole, the schema is still at " + from),
              FleetInstruction.ABORT);
        }
        boolean maintenance = stored.mode() == Mode.MAINTENANCE;
        return new End(Phase.FAILED, reason + "; this release is not atomic and earlier steps committed: the database is"
            + " now at version " + Releases.orNone(schemaNow) + ", not " + from + ". "
            + (maintenance
                ? "Agents hold, not serving, because old code may not read it: fix the migration and release again (fix forward)."
                : "The release only adds, so agents abort and keep serving the old revision; fix the migration and release again."),
            maintenance ? FleetInstruction.HOLD : FleetInstruction.ABORT);
      }
      case SWITCHING -> {
        return new End(Phase.FAILED, reason + "; the schema is at " + stored.schema()
            + ", agents that switched stay switched and the others catch up when they can", FleetInstruction.NONE);
      }
      case CONTRACTING -> {
        // Every server switched: the release itself is done; only its contract did not run.
        return new End(Phase.COMPLETED, reason, FleetInstruction.NONE);
      }
      default -> throw new IllegalStateException("release " + stored.id() + " is already " + stored.phase());
    }
  }

  private static Future<Void> noted(ReleaseDocument stored, String what, Throwable err) {
    log.error("release {}: could not record {} ({}); a coordinator resuming it will finish it", stored.id(), what,
        err.getMessage());
    return Future.succeededFuture();
  }
}
