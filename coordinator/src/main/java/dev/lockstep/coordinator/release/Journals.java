package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/**
 * Where a run reads its release and writes it: {@link ReleaseJournal}s, one per run, each fenced by the epoch the run
 * won. Holds what every journal writes through — the store, the desired-state watch the fleet follows, the nudges
 * that wake event streams — so a run asks for a journal, not for those.
 *
 * <pre>{@code ReleaseJournal journal = journals.open(held.epoch(), set.digest(), stored);}</pre>
 */
public final class Journals {
  private final ReleaseStore store;
  private final DesiredStateWatch watch;
  private final Nudges nudges;
  private final Clock clock;
  private final Duration switchLead;

  public Journals(ReleaseStore store, DesiredStateWatch watch, Nudges nudges, Clock clock, Duration switchLead) {
    this.store = store;
    this.watch = watch;
    this.nudges = nudges;
    this.clock = clock;
    this.switchLead = switchLead;
  }

  /** The journal of a run that holds the fence at {@code epoch}, starting from {@code stored} as PostgreSQL holds it. */
  ReleaseJournal open(long epoch, String digest, ReleaseDocument stored) {
    return new ReleaseJournal(store, watch, nudges, clock, switchLead, epoch, digest, stored);
  }

  /** Release {@code id} as PostgreSQL holds it now. */
  Future<Optional<ReleaseDocument>> read(String id) {
    return store.get(id);
  }

  /** Wakes whoever waits for input of {@code service}'s run (a fleet wait), on every instance. */
  void nudge(String service) {
    nudges.publish(Nudges.RUN_INPUT, service);
  }
}
