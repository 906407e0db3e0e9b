package dev.lockstep.agent;

import dev.lockstep.protocol.Durations;
import java.time.Duration;

/**
 * How a hook (or the revision command) ended.
 *
 * @param name the name used in logs and details: {@code prepare}, {@code switch}, {@code abort} or
 *     {@code revision command}
 * @param exitCode the exit code; -1 if it never started or was killed
 * @param timedOut true if it ran past the timeout and was killed with its descendants
 * @param startError why it could not be started, or null
 * @param took how long it ran
 * @param timeout the timeout it ran under
 * @param stdout what it printed (bounded), used for the revision command
 * @param stderrTail the last lines of its stderr (at most 20 lines, 2000 characters)
 */
public record HookResult(
    String name,
    int exitCode,
    boolean timedOut,
    String startError,
    Duration took,
    Duration timeout,
    String stdout,
    String stderrTail) {

  /** A hook that is not configured: counts as acknowledged. */
  public static HookResult skipped(String name) {
    return new HookResult(name, 0, false, null, Duration.ZERO, Duration.ZERO, "", "");
  }

  public boolean succeeded() {
    return startError == null && !timedOut && exitCode == 0;
  }

  /**
   * Why it failed, short enough for a report's {@code detail}: {@code prepare hook exited 3: <stderr tail>},
   * {@code switch hook timed out after 60s}; null if it succeeded.
   */
  public String failure() {
    if (succeeded()) {
      return null;
    }
    String what = startError != null ? "could not start: " + startError
        : timedOut ? "timed out after " + Durations.exact(timeout)
        : "exited " + exitCode;
    String label = name.endsWith("command") ? name : name + " hook";
    return label + " " + what + (stderrTail.isEmpty() ? "" : ": " + stderrTail);
  }
}
