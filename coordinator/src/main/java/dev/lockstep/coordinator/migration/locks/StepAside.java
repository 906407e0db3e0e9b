package dev.lockstep.coordinator.migration.locks;

import java.time.Duration;

/**
 * When a rehearsal on the live database gives way to the application: once a session of the application has waited
 * {@code after} for a lock the rehearsal holds, the rehearsal cancels its statement, rolls back (releasing every lock)
 * and rehearses the rest on a schema-only clone. Checked every {@code poll}. So the rehearsal adds at most about
 * {@code after + poll} to any query's wait, instead of the whole duration of a long lock, which the release then pays
 * only once, when it migrates.
 *
 * @param after how long a session may wait on the rehearsal; null: never step aside (the rehearsal as it was before)
 * @param poll how often to look for waiting sessions
 */
public record StepAside(Duration after, Duration poll) {
  /** 50 ms: short against the stalls it avoids (a second per few million rows indexed), long against a typical query. */
  public static final StepAside DEFAULT = new StepAside(Duration.ofMillis(50), Duration.ofMillis(10));
  /** Holds on whoever waits: what a rehearsal did before it could step aside. For measurements. */
  public static final StepAside NEVER = new StepAside(null, Duration.ofMillis(10));

  public boolean never() {
    return after == null;
  }
}
