package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.lock.ServiceLock;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
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

  private final String id;
  private final String service;
  private final ServiceLock lock;
  private final RunFence fence;
  private final CarriedSets carried;
  private final Journals journals;
  private final ReleaseMachine machine;
  private final Ending ending;
  private final ReleaseMetrics metrics;
  private volatile boolean stopping;

  ReleaseRun(String id, String service, ServiceLock lock, RunFence fence, CarriedSets carried, Journals journals,
             ReleaseMachine machine, Ending ending, ReleaseMetrics metrics) {
    this.id = id;
    this.service = service;
    this.lock = lock;
    this.fence = fence;
    this.carried = carried;
    this.journals = journals;
    this.machine = machine;
    this.ending = ending;
    this.metrics = metrics;
  }

  /**
   * Takes the service's lock (waiting up to {@code lockWait}) and runs the release to a terminal
   * phase or a handover. Returns whether this instance ran it: false if another coordinator holds the
   * lock (the release is left to that one, nothing changed) or if the release had already ended when
   * the lock and fence were taken (a standby that came too late). Never fails.
   */
  public Future<Boolean> run(Duration lockWait) {
    long asked = System.nanoTime();
    return lock.acquire(lockWait).compose(won -> {
      metrics.lockWait(Duration.ofNanos(System.nanoTime() - asked));
      if (!won) {
        log.info("release {}: another coordinator holds the lock of service {}; leaving the release to it", id, service);
        return Future.succeededFuture(false);
      }
      return unfinished()
          .compose(doc -> doc.isEmpty() ? Future.succeededFuture(false) : fenced())
          .recover(e -> {
            log.error("release {}: could not run it ({}); leaving it for a later attempt", id, e.getMessage());
            return Future.succeededFuture(false);
          })
          .eventually(lock::release);
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
    journals.nudge(service);
  }

  /** Lets go of the Redis lock while a step still runs (shutdown grace passed): the fence keeps the release safe. */
  void abandon() {
    lock.release();
  }

  /** The release as PostgreSQL holds it now, if it is still unfinished (another instance may have finished it). */
  private Future<Optional<ReleaseDocument>> unfinished() {
    return journals.read(id).map(doc -> {
      if (doc.isPresent() && doc.get().phase().isTerminal()) {
        log.info("release {} is already {}; nothing to run", id, doc.get().phase());
        return Optional.empty();
      }
      return doc;
    });
  }

  /** Whether it walked the release: false if it had ended by the time the fence was held. */
  private Future<Boolean> fenced() {
    return fence.take(service)
        .compose(held -> unfinished()
            .compose(doc -> {
              if (doc.isEmpty()) {
                return Future.succeededFuture(false);
              }
              log.info("release {}: took the lock and fence of service {} (epoch {}); resuming at {}", id, service,
                  held.epoch(), doc.get().phase());
              return carried.of(doc.get()).compose(set -> walk(doc.get(), held.epoch(), set)).map(true);
            })
            .eventually(() -> fence.let(held)));
  }

  private Future<Void> walk(ReleaseDocument doc, long epoch, MigrationSet set) {
    ReleaseJournal journal = journals.open(epoch, set.digest(), doc);
    Attempt attempt = new Attempt(epoch, set, journal, () -> stopping);
    // A release an earlier run held (its document names that run's epoch) is resumed: say so, and what resuming here means.
    Future<ReleaseDocument> begun = doc.epoch() == 0 ? Future.succeededFuture(doc)
        : journal.write(doc, doc.phase() + ": coordinator " + fence.holder() + " resumed the release (epoch " + epoch
            + ", after epoch " + doc.epoch() + "): " + machine.at(doc.phase()).resume());
    return begun.compose(stored -> next(stored, attempt))
        .recover(e -> ending.end(e, attempt))
        .onComplete(r -> {
          attempt.endAhead();
          ReleaseDocument last = journal.stored();
          if (last.phase().isTerminal()) {
            metrics.ended(service, last.phase());
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
    return machine.step(stored, attempt)
        .onComplete(r -> metrics.phase(stored.phase(), Duration.ofNanos(System.nanoTime() - began)))
        .compose(next -> next(next, attempt));
  }

  String id() {
    return id;
  }
}
