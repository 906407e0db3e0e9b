package dev.lockstep.coordinator.release;

import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;

/**
 * The release's phases as one table: for each phase, the step that does its work, the phases it may
 * move to, and what resuming there means. Ends (ABORTED, FAILED) are {@link Ending}'s; terminal
 * phases have no row, so nothing ever leaves one. {@link dev.lockstep.coordinator.store.ReleaseStore#advance}
 * enforces the same in PostgreSQL with a compare-and-set on the phase.
 */
public final class ReleaseMachine {

  /** One row: the step, where it may go, and what a run that starts here (after a crash or a takeover) does. */
  record Transition(PhaseStep step, Set<Phase> next, String resume) {}

  private final Map<Phase, Transition> table = new EnumMap<>(Phase.class);

  public ReleaseMachine(Planning planning, Preflighting preflighting, Preparing preparing, Migrating migrating,
                        Switching switching, Contracting contracting) {
    table.put(Phase.PLANNED, new Transition(planning, Set.of(Phase.PREFLIGHT),
        "nothing has happened yet: plan again from the schema the database is at"));
    table.put(Phase.PREFLIGHT, new Transition(preflighting, Set.of(Phase.PREPARING),
        "nothing changed and no agent was told: inspect and rehearse again, then tell the fleet to prepare"));
    table.put(Phase.PREPARING, new Transition(preparing, Set.of(Phase.MIGRATING),
        "agents were told in the transaction that entered PREPARING: wait for their acknowledgements again"
            + " (nothing is sent twice); an abort or a failure tells them to abort"));
    table.put(Phase.MIGRATING, new Transition(migrating, Set.of(Phase.SWITCHING),
        "the migration tool's history (Flyway's, Alembic's) says what committed: repairs are re-planned, only pending migrations run; a failure"
            + " ends FAILED and tells agents to hold when an earlier step (of any run) moved the schema"));
    table.put(Phase.SWITCHING, new Transition(switching, Set.of(Phase.CONTRACTING, Phase.COMPLETED),
        "the schema is at the target and agents were told to switch: wait for their switches again; never go back"));
    table.put(Phase.CONTRACTING, new Transition(contracting, Set.of(Phase.COMPLETED),
        "every agent switched: wait again for the old code to go (the timeout starts again), then plan the contract from"
            + " the tool's history, so one that committed before the crash is recorded as applied, never run twice"));
  }

  /** The row of {@code phase}; null for a terminal phase. */
  Transition at(Phase phase) {
    return table.get(phase);
  }

  /** Runs the step of the stored phase and checks the step moved the release where the table allows. */
  Future<ReleaseDocument> step(ReleaseDocument stored, Attempt attempt) {
    Transition row = table.get(stored.phase());
    if (row == null) {
      return Future.failedFuture(new IllegalStateException("release " + stored.id() + " is " + stored.phase()
          + ", a terminal phase: there is nothing to run"));
    }
    return row.step().run(stored, attempt).compose(next -> row.next().contains(next.phase())
        ? Future.succeededFuture(next)
        : Future.failedFuture(new IllegalStateException("step of " + stored.phase() + " moved release " + stored.id()
            + " to " + next.phase() + "; the table allows only " + row.next())));
  }
}
