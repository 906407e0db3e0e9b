package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import java.time.Clock;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every write of one run, fenced by its epoch and compare-and-set on the phase PostgreSQL holds. It
 * remembers the document as last stored, so whoever ends the run (or resumes it elsewhere) starts
 * from what the database says, never from what a step hoped to write.
 *
 * <pre>{@code journal.tell(stored.toBuilder().phase(Phase.SWITCHING).build(), "SWITCHING: …", false)}</pre>
 */
final class ReleaseJournal {
  private static final Logger log = LoggerFactory.getLogger(ReleaseJournal.class);

  private final ReleaseStore store;
  private final DesiredStateWatch watch;
  private final Nudges nudges;
  private final Clock clock;
  private final Duration switchLead;
  private final long epoch;
  private final String digest;
  private ReleaseDocument stored;

  ReleaseJournal(ReleaseStore store, DesiredStateWatch watch, Nudges nudges, Clock clock, Duration switchLead, long epoch,
                 String digest, ReleaseDocument stored) {
    this.store = store;
    this.watch = watch;
    this.nudges = nudges;
    this.clock = clock;
    this.switchLead = switchLead;
    this.epoch = epoch;
    this.digest = digest;
    this.stored = stored;
  }

  /** The release as this run last stored it (or read it, after winning the fence). */
  ReleaseDocument stored() {
    return stored;
  }

  /** Stores {@code next} and an event (may be null), without telling the fleet anything. */
  Future<ReleaseDocument> write(ReleaseDocument next, String event) {
    return save(next, event, null);
  }

  /** Stores {@code next} and, in the same transaction, the desired state of its phase: the fleet is told exactly when the phase changes. */
  Future<ReleaseDocument> tell(ReleaseDocument next, String event, boolean hold) {
    DesiredState desired = desired(next, hold);
    // The switch's moment, for whoever reads the release: the event that announces it says when.
    String said = event != null && desired.switchAt() != null
        ? event + " at " + desired.switchAt() + " (" + Durations.format(switchLead) + " ahead)" : event;
    return save(next, said, desired);
  }

  /** PREPARING → MIGRATING unless an operator asked to abort first; false if they did. */
  Future<Boolean> enterMigrating(ReleaseDocument next, String event) {
    ReleaseDocument dated = dated(next);
    return store.enterMigrating(dated, stored.agents(), epoch, event).map(entered -> {
      if (entered) {
        log.info("release {}: {}", dated.id(), event);
        stored(dated, event);
      }
      return entered;
    });
  }

  Future<Boolean> abortRequested() {
    return store.abortRequested(stored.id());
  }

  private Future<ReleaseDocument> save(ReleaseDocument next, String event, DesiredState desired) {
    ReleaseDocument dated = dated(next);
    Phase expected = stored.phase();
    if (event != null) {
      log.info("release {}: {}", dated.id(), event);
    }
    return store.advance(dated, stored.agents(), expected, epoch, event, desired).map(index -> {
      if (desired != null) {
        watch.changed(dated.service());
      }
      stored(dated, event);
      return dated;
    });
  }

  /** After a committed write: remember what PostgreSQL now holds, and wake whoever follows the events. */
  private void stored(ReleaseDocument dated, String event) {
    stored = dated;
    if (event != null) {
      nudges.publish(Nudges.RELEASE_EVENT, dated.id());
    }
  }

  private ReleaseDocument dated(ReleaseDocument next) {
    return next.toBuilder().epoch(epoch).updatedAt(clock.instant().toString()).build();
  }

  private DesiredState desired(ReleaseDocument doc, boolean hold) {
    // The switch is announced ahead of its moment: agents reached late by the fan-out, or slow to get a core, still let
    // their hooks run at that moment, so the switch skew is the hosts' clock and timer error, not the fan-out's spread.
    String switchAt = doc.phase() == Phase.SWITCHING && !switchLead.isZero()
        ? clock.instant().plus(switchLead).toString() : null;
    return new DesiredState(doc.service(), 0, epoch, doc.id(), doc.phase(), doc.revision(), doc.mode(), digest, doc.schema(),
        hold, null, FleetCheck.retire(doc), switchAt);
  }
}
