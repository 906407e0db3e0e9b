package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.lock.ServiceLock;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One coordinator's run of one release: take the service's Redis lock, then the PostgreSQL fence,
 * read the release again (the read that matters is the one after the fence: no other run can write
 * it now), and walk {@link ReleaseMachine}'s table from the phase PostgreSQL holds to a terminal one,
 * or to a safe point when the coordinator shuts down. Every write goes through the run's
 * {@link ReleaseJournal}: fenced, compare-and-set on the phase.
 *
 * <pre>{@code run.run(Duration.ofSeconds(30)).onComplete(ran -> ...)}</pre>
 */
public final class ReleaseRun {
  private static final Logger log = LoggerFactory.getLogger(ReleaseRun.class);

  /**
   * What a run works with, wired once in {@code ServeCommand} and used by {@link ReleaseRun} alone (the
   * phases get theirs through their own constructors): a run is created per release, so its
   * collaborators travel together.
   */
  public record Shared(ServiceLock.Factory locks, Connections connections, ReleaseStore store, MigrationSetStore sets,
                       MigrationEngine migrations, DesiredStateWatch watch, Nudges nudges, ReleaseMachine machine, Ending ending,
                       WorkerExecutor worker, ReleaseMetrics metrics, Clock clock, String instanceId) {}

  private final Shared shared;
  private final String id;
  private final String service;
  private final ServiceLock lock;
  private volatile boolean stopping;

  public ReleaseRun(Shared shared, String id, String service) {
    this.shared = shared;
    this.id = id;
    this.service = service;
    this.lock = shared.locks().of(service);
  }

  /**
   * Takes the service's lock (waiting up to {@code lockWait}) and runs the release to a terminal
   * phase or a handover. If another coordinator holds the lock, it is left to that one: returns false
   * and changes nothing. Never fails.
   */
  public Future<Boolean> run(Duration lockWait) {
    long asked = System.nanoTime();
    return lock.acquire(lockWait).compose(won -> {
      shared.metrics().lockWait(Duration.ofNanos(System.nanoTime() - asked));
      if (!won) {
        log.info("release {}: another coordinator holds the lock of service {}; leaving the release to it", id, service);
        return Future.succeededFuture(false);
      }
      return unfinished()
          .compose(doc -> doc.isEmpty() ? Future.succeededFuture() : fenced())
          .recover(e -> {
            log.error("release {}: could not run it ({}); leaving it for a later attempt", id, e.getMessage());
            return Future.succeededFuture();
          })
          .eventually(lock::release)
          .map(true);
    }, e -> {
      log.warn("release {}: could not reach Redis for the lock of service {} ({}); will try again", id, service,
          e.getMessage());
      return Future.succeededFuture(false);
    });
  }

  /** Asks the run to stop at its next safe point and hand the release over; see {@link Attempt#checkStopping}. */
  void handOver() {
    stopping = true;
    // Wake a fleet wait now rather than at its next re-read.
    shared.nudges().publish(Nudges.RUN_INPUT, service);
  }

  /** Lets go of the Redis lock while a step still runs (shutdown grace passed): the fence keeps the release safe. */
  void abandon() {
    lock.release();
  }

  /** The release as PostgreSQL holds it now, if it is still unfinished (another instance may have finished it). */
  private Future<Optional<ReleaseDocument>> unfinished() {
    return shared.store().get(id).map(doc -> {
      if (doc.isPresent() && doc.get().phase().isTerminal()) {
        log.info("release {} is already {}; nothing to run", id, doc.get().phase());
        return Optional.empty();
      }
      return doc;
    });
  }

  private Future<Void> fenced() {
    return blocking(() -> Fence.acquire(shared.connections().open("lockstep-run/" + service), service, shared.instanceId()))
        .compose(held -> unfinished()
            .compose(doc -> {
              if (doc.isEmpty()) {
                return Future.succeededFuture();
              }
              log.info("release {}: took the lock and fence of service {} (epoch {}); resuming at {}", id, service,
                  held.epoch(), doc.get().phase());
              return carried(doc.get()).compose(set -> walk(doc.get(), held.epoch(), set));
            })
            .eventually(() -> blocking(() -> {
              held.close();
              return null;
            }).otherwiseEmpty()));
  }

  private Future<Void> walk(ReleaseDocument doc, long epoch, MigrationSet set) {
    ReleaseJournal journal = new ReleaseJournal(shared.store(), shared.watch(), shared.nudges(), shared.clock(), epoch,
        set.digest(), doc);
    Attempt attempt = new Attempt(epoch, set, journal, () -> stopping);
    // A release an earlier run held (its document names that run's epoch) is resumed: say so, and what resuming here means.
    Future<ReleaseDocument> begun = doc.epoch() == 0 ? Future.succeededFuture(doc)
        : journal.write(doc, doc.phase() + ": coordinator " + shared.instanceId() + " resumed the release (epoch " + epoch
            + ", after epoch " + doc.epoch() + "): " + shared.machine().at(doc.phase()).resume());
    return begun.compose(stored -> next(stored, attempt))
        .recover(e -> shared.ending().end(e, attempt))
        .onComplete(r -> {
          ReleaseDocument last = journal.stored();
          if (last.phase().isTerminal()) {
            shared.metrics().ended(service, last.phase());
          }
        });
  }

  private Future<Void> next(ReleaseDocument stored, Attempt attempt) {
    if (stored.phase().isTerminal()) {
      return Future.succeededFuture();
    }
    try {
      attempt.checkStopping("before " + stored.phase());
    } catch (LockstepException e) {
      return Future.failedFuture(e);
    }
    long began = System.nanoTime();
    return shared.machine().step(stored, attempt)
        .onComplete(r -> shared.metrics().phase(stored.phase(), Duration.ofNanos(System.nanoTime() - began)))
        .compose(next -> next(next, attempt));
  }

  /** The set the release carries, from the store: never a local folder (except for a release that predates stored sets). */
  private Future<MigrationSet> carried(ReleaseDocument doc) {
    if (doc.migrationsDigest() == null) {
      log.warn("release {} carries no stored migration set (created by an older Lockstep); using the migrations folder", id);
      return blocking(() -> shared.migrations().folderSet());
    }
    return shared.sets().load(doc.migrationsDigest(), id);
  }

  private <T> Future<T> blocking(java.util.concurrent.Callable<T> work) {
    return shared.worker().executeBlocking(work, true);
  }

  String id() {
    return id;
  }
}
