package dev.lockstep.coordinator.release;

import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;

/**
 * The work of one phase, then the transition out of it. Takes the release as PostgreSQL holds it at
 * that phase and returns it as stored at the next one. Every step may run again on a document it
 * already ran on (a coordinator died part-way): {@link ReleaseMachine} says, per phase, what running
 * again means. A step that cannot go on fails with a {@link dev.lockstep.coordinator.error.LockstepException}
 * whose code ({@code ABORTED}, {@code FAILED}, {@code MIGRATION_FAILED}, {@code FENCED}, {@code STOPPING})
 * {@link Ending} turns into the release's end.
 */
public interface PhaseStep {
  Future<ReleaseDocument> run(ReleaseDocument stored, Attempt attempt);
}
