package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.protocol.ContractState;
import dev.lockstep.protocol.ContractStatus;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CONTRACTING: every server was switched; the release's contract migrations (its removals) wait until no agent of the
 * service runs another revision ({@link ContractCheck}), then run in one fenced transaction ({@link StepRunner}), and
 * the release is COMPLETED with its contract {@code applied}. Woken by agents' reports, like the other waits.
 *
 * <ul>
 *   <li>{@code --contract defer}, or old code still there after {@code --contract-timeout}: COMPLETED with the contract
 *       {@code pending}, naming the agents; {@code lockstep contract} applies it later.
 *   <li>A contract migration fails: rolled back whole, so the schema is as it was before the contract; COMPLETED with
 *       the contract {@code failed} (the migration and the database's error); the fleet keeps the new code, which does
 *       not read what the contract removes.
 *   <li>Taken over or resumed: waits again and plans again from the tool's history, so a contract that committed before
 *       a crash is recorded as applied, never run twice.
 * </ul>
 */
public final class Contracting implements PhaseStep {
  private static final Logger log = LoggerFactory.getLogger(Contracting.class);

  private final AgentRegistry registry;
  private final Nudges nudges;
  private final MigrationEngine migrations;
  private final StepRunner steps;
  private final WorkerExecutor worker;
  private final Duration timeout;
  private final Duration fallback;
  private final Clock clock;

  /**
   * @param timeout {@code --contract-timeout}: how long to wait for the old code to go before the contract is left pending
   * @param fallback how often the registry is read again without a nudge
   */
  public Contracting(AgentRegistry registry, Nudges nudges, MigrationEngine migrations, StepRunner steps,
                     WorkerExecutor worker, Duration timeout, Duration fallback, Clock clock) {
    this.registry = registry;
    this.nudges = nudges;
    this.migrations = migrations;
    this.steps = steps;
    this.worker = worker;
    this.timeout = timeout;
    this.fallback = fallback;
    this.clock = clock;
  }

  @Override
  public Future<ReleaseDocument> run(ReleaseDocument stored, Attempt attempt) {
    if (stored.contract().state() != ContractState.WAITING) {
      // Resumed after the contract's outcome was stored but before COMPLETED was: write what is known.
      return complete(stored, attempt, "the contract is " + stored.contract().state().wireName());
    }
    if (stored.options().deferContract()) {
      return registry.list(stored.service())
          .compose(agents -> registry.departures(stored.service())
              .map(departed -> ContractCheck.waitingFor(stored, agents, departed)))
          .compose(waiting -> pending(stored, attempt, waiting, "deferred by the operator (release --contract defer)"));
    }
    return await(attempt, clock.millis() + timeout.toMillis());
  }

  /** Waits for the old code to go, recording whom it waits for as that changes; then the contract, or pending. */
  private Future<ReleaseDocument> await(Attempt attempt, long deadline) {
    ReleaseJournal journal = attempt.journal();
    ReleaseDocument doc = journal.stored();
    // Listen before reading, so a report that lands during the read still wakes the next round.
    Future<Void> woken = nudges.next(Nudges.RUN_INPUT, doc.service(), fallback.toMillis());
    return Future.<Void>succeededFuture()
        .compose(v -> {
          attempt.checkStopping("while CONTRACTING waits for the old code to go");
          return registry.list(doc.service());
        })
        .compose(agents -> registry.departures(doc.service()).map(departed -> ContractCheck.waitingFor(doc, agents, departed)))
        .compose(waiting -> {
          if (waiting.isEmpty()) {
            return apply(attempt);
          }
          if (clock.millis() > deadline) {
            return pending(journal.stored(), attempt, waiting, "after --contract-timeout " + Durations.format(timeout)
                + " agent(s) still ran another revision than " + doc.revision());
          }
          Future<ReleaseDocument> recorded = waiting.equals(doc.contract().waitingFor()) ? Future.succeededFuture(doc)
              : journal.write(doc.toBuilder().contract(doc.contract().waitingFor(waiting)).build(),
                  "CONTRACTING: the contract waits for " + String.join(", ", waiting));
          return recorded.compose(v -> woken).compose(v -> await(attempt, deadline));
        });
  }

  /** The fleet runs only the new code: the contract migrations, in one transaction, then COMPLETED. */
  private Future<ReleaseDocument> apply(Attempt attempt) {
    ReleaseJournal journal = attempt.journal();
    ReleaseDocument doc = journal.stored();
    return journal.write(doc.toBuilder().contract(doc.contract().waitingFor(List.of())).build(),
            "CONTRACTING: no agent runs another revision than " + doc.revision() + "; applying the contract ("
                + String.join(", ", doc.contract().migrations()) + ") in one transaction")
        .compose(v -> worker.executeBlocking(() -> migrations.plan(attempt.set(), doc.schema()), true))
        .compose(plan -> {
          java.util.Optional<MigrationPlan.Step> step = plan.contractStep();
          if (step.isEmpty()) {
            // Committed by a run that stopped before it could say so: the tool's history is the record.
            return Future.succeededFuture(journal.stored());
          }
          return steps.apply(List.of(step.get()), attempt, "CONTRACTING");
        })
        .compose(applied -> {
          Instant now = clock.instant();
          Long afterSwitch = lastSwitch(applied).map(last -> Duration.between(last, now).toMillis()).orElse(null);
          ContractStatus contract = applied.contract().applied(now.toString(), afterSwitch);
          return complete(applied.toBuilder().contract(contract).build(), attempt, "contract applied ("
              + String.join(", ", contract.migrations()) + ")"
              + (afterSwitch == null ? "" : ", " + afterSwitch + " ms after the last switch"));
        }, e -> {
          if (LockstepException.is(e, LockstepException.Code.FENCED) || LockstepException.is(e, LockstepException.Code.STOPPING)) {
            return Future.failedFuture(e);
          }
          ReleaseDocument now = journal.stored();
          String why = e.getMessage() + "; the contract was rolled back whole, the schema is as it was before it, and the"
              + " fleet keeps revision " + now.revision() + "; fix the cause (a view or key that depends on what it"
              + " drops), then apply it with lockstep contract --service " + now.service();
          log.warn("release {}: contract failed: {}", now.id(), why);
          return complete(now.toBuilder().contract(now.contract().failed(why)).build(), attempt, "the contract failed: "
              + why);
        });
  }

  private Future<ReleaseDocument> pending(ReleaseDocument doc, Attempt attempt, List<String> waiting, String why) {
    ContractStatus contract = doc.contract().pending(waiting, why + (waiting.isEmpty() ? "" : ": "
        + String.join(", ", waiting)) + "; apply it with lockstep contract --service " + doc.service()
        + " once no server runs another revision");
    return complete(doc.toBuilder().contract(contract).build(), attempt, "contract pending: " + contract.reason());
  }

  private Future<ReleaseDocument> complete(ReleaseDocument doc, Attempt attempt, String what) {
    return attempt.journal().tell(doc.toBuilder().phase(Phase.COMPLETED).build(), "COMPLETED in "
        + Durations.format(Duration.between(Instant.parse(doc.createdAt()), clock.instant())) + "; " + what, false);
  }

  /** When the last participant still there switched (turned ready, or retired). */
  static java.util.Optional<Instant> lastSwitch(ReleaseDocument doc) {
    return doc.agents().stream().filter(a -> !a.gone()).map(ReleaseAgent::switchedAt).filter(Objects::nonNull)
        .map(Instant::parse).max(Instant::compareTo);
  }
}
