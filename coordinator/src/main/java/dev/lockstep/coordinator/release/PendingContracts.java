package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.lock.ServiceLock;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.protocol.ContractState;
import dev.lockstep.protocol.ContractStatus;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lockstep contract} ({@code POST /v1/services/{service}/contract}): applies the contract a release left
 * {@code pending} (the old code was still there, or {@code --contract defer}), or one that {@code failed} and was fixed
 * since, once no agent of the service runs another revision. Only the latest COMPLETED release's contract: a later
 * release carries its own. Under the service's lock and the fence, like a release; the contract is one transaction,
 * planned from the tool's history, so it is never applied twice.
 *
 * <pre>{@code contracts.apply("shop", "alice", "10.0.0.7").onSuccess(doc -> doc.contract().state())}</pre>
 */
public final class PendingContracts {
  private static final Logger log = LoggerFactory.getLogger(PendingContracts.class);
  /** How long a request waits for the service's lock before it answers 409. */
  private static final Duration LOCK_WAIT = Duration.ofSeconds(10);

  private final String service;
  private final ReleaseStore store;
  private final AgentRegistry registry;
  private final ServiceLock.Factory locks;
  private final RunFence fence;
  private final CarriedSets carried;
  private final MigrationEngine migrations;
  private final WorkerExecutor worker;
  private final Clock clock;

  public PendingContracts(String service, ReleaseStore store, AgentRegistry registry, ServiceLock.Factory locks,
                          RunFence fence, CarriedSets carried, MigrationEngine migrations, WorkerExecutor worker,
                          Clock clock) {
    this.service = service;
    this.store = store;
    this.registry = registry;
    this.locks = locks;
    this.fence = fence;
    this.carried = carried;
    this.migrations = migrations;
    this.worker = worker;
    this.clock = clock;
  }

  /**
   * Applies the service's pending (or failed) contract and returns the release with its contract's new state:
   * {@code applied}, or {@code failed} with the migration and the database's error.
   *
   * @throws LockstepException 409 when there is none to apply, a release is in progress, an agent still runs another
   *     revision (named), or another coordinator holds the lock
   */
  public Future<ReleaseDocument> apply(String asked, String requestedBy, String requestedFrom) {
    if (asked != null && !asked.equals(service)) {
      return Future.failedFuture(new LockstepException(LockstepException.Code.UNPROCESSABLE, "this coordinator manages"
          + " service " + service + ", not " + asked + "; send it to that service's coordinator"));
    }
    return store.active(service)
        .compose(active -> active.isPresent() ? Future.failedFuture(LockstepException.conflict("release "
            + active.get().id() + " of service " + service + " is in progress (" + active.get().phase() + "); wait for it"
            + " to end")) : store.latestCompleted(service))
        .compose(latest -> latest.isPresent() && latest.get().contract().applicableLater()
            ? Future.succeededFuture(latest.get())
            : Future.failedFuture(LockstepException.conflict("service " + service + " has no contract to apply: "
                + latest.map(d -> "its latest completed release " + d.id() + " has its contract "
                    + d.contract().state().wireName()).orElse("no release of it has completed"))))
        .compose(doc -> oldCodeGone(doc).map(doc))
        .compose(doc -> {
          ServiceLock lock = locks.of(service);
          return lock.acquire(LOCK_WAIT).compose(won -> !won
              ? Future.failedFuture(LockstepException.conflict("another coordinator holds the lock of service " + service
                  + " (a release or a contract in progress); try again when it ends"))
              : fenced(doc, requestedBy, requestedFrom).eventually(() -> lock.release()));
        });
  }

  private Future<Void> oldCodeGone(ReleaseDocument doc) {
    return registry.list(service)
        .compose(agents -> registry.departures(service).map(departed -> ContractCheck.waitingFor(doc, agents, departed)))
        .compose(waiting -> waiting.isEmpty() ? Future.succeededFuture() : Future.failedFuture(LockstepException.conflict(
            "the contract of release " + doc.id() + " (" + String.join(", ", doc.contract().migrations()) + ") waits for"
                + " agent(s) still on another revision than " + doc.revision() + ": " + String.join(", ", waiting)
                + "; switch or remove them (DELETE /v1/agents/{id}?service=" + service + "), then try again")));
  }

  private Future<ReleaseDocument> fenced(ReleaseDocument doc, String requestedBy, String requestedFrom) {
    return fence.take(service).compose(held -> {
      // Read again under the fence: another coordinator may have applied it meanwhile.
      Future<ReleaseDocument> done = store.get(doc.id()).map(Optional::orElseThrow).compose(now -> {
        if (!now.contract().applicableLater()) {
          return Future.failedFuture(LockstepException.conflict("the contract of release " + now.id() + " is "
              + now.contract().state().wireName() + " now (another coordinator applied it)"));
        }
        return carried.of(now).compose(set -> worker.executeBlocking(() -> run(now, set, held.epoch()), true))
            .compose(outcome -> store.updateContract(outcome, now.contract().state(), held.epoch(), "contract "
                + outcome.contract().state().wireName() + " by " + requestedBy + " from " + requestedFrom + " (lockstep"
                + " contract): " + (outcome.contract().state() == ContractState.APPLIED
                    ? String.join(", ", outcome.contract().migrations())
                    : outcome.contract().reason())));
      });
      return done.eventually(() -> fence.let(held));
    });
  }

  /** Blocking: plans the contract from the tool's history and applies it, fenced by {@code epoch}. */
  private ReleaseDocument run(ReleaseDocument doc, dev.lockstep.coordinator.set.MigrationSet set, long epoch) {
    ContractStatus contract = doc.contract();
    try {
      MigrationPlan plan = migrations.plan(set, doc.schema());
      Optional<MigrationPlan.Step> step = plan.contractStep();
      List<AppliedMigration> applied = new ArrayList<>(doc.applied());
      if (step.isPresent()) {
        for (AppliedMigration a : migrations.migrate(set, step.get(), epoch, line -> log.info("contract of {}: {}",
            doc.id(), line))) {
          applied.add(a.by(fence.holder()));
        }
      }
      Instant now = clock.instant();
      Long afterSwitch = Contracting.lastSwitch(doc).map(last -> Duration.between(last, now).toMillis()).orElse(null);
      return doc.toBuilder().applied(applied).contract(contract.applied(now.toString(), afterSwitch)).build();
    } catch (RuntimeException e) {
      if (LockstepException.is(e, LockstepException.Code.FENCED)) {
        throw e;
      }
      return doc.toBuilder().contract(contract.failed(e.getMessage() + "; the contract was rolled back whole, the schema"
          + " is as it was before it")).build();
    }
  }
}
