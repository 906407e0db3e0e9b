package dev.lockstep.agent;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * How long an agent waits before it lets its switch hook run, from the desired state's {@code switchAt} (the
 * coordinator's clock) and its own clock. Pure, so the rules are unit tests; the agent (and the bench's simulated
 * agents) set the timer.
 *
 * <pre>{@code long ms = SwitchTime.waitMs(desired.switchAt(), clock.instant(), Agent.MAX_SWITCH_WAIT);}</pre>
 */
public final class SwitchTime {
  /** The switch time is further ahead than the longest wait: the clocks disagree, and the agent switches now. */
  public static final long CLOCKS_DISAGREE = -1;

  private SwitchTime() {}

  /**
   * Milliseconds until {@code switchAt}, rounded up so the timer never fires before it; 0 when there is none, it is
   * unreadable or past (a late agent switches at once); {@link #CLOCKS_DISAGREE} when it is more than {@code longest}
   * ahead.
   */
  public static long waitMs(String switchAt, Instant now, Duration longest) {
    if (switchAt == null) {
      return 0;
    }
    Instant at;
    try {
      at = Instant.parse(switchAt);
    } catch (DateTimeParseException e) {
      return 0;
    }
    Duration ahead = Duration.between(now, at);
    if (ahead.isNegative() || ahead.isZero()) {
      return 0;
    }
    if (ahead.compareTo(longest) > 0) {
      return CLOCKS_DISAGREE;
    }
    long ms = ahead.toMillis();
    return ahead.minusMillis(ms).isZero() ? ms : ms + 1;
  }
}
