package dev.lockstep.agent;

import dev.lockstep.protocol.AgentState;
import java.time.Duration;

/**
 * When an agent reports a change of its state: at once, but for the two states a hook is running in, {@code preparing}
 * and {@code switching}, which wait {@link #TRANSITIONAL} for the state that ends them. A hook that ends within it (no
 * hook, a readiness-mode switch, a quick one) then costs the coordinator one report, {@code prepared} or
 * {@code switched}, instead of two: in a release every agent of the fleet reports within the same few milliseconds, and
 * a thousand agents' second reports were what PREPARING and SWITCHING waited behind (docs/benchmarks.md). A longer hook
 * is reported as running {@link #TRANSITIONAL} late, which nothing waits for: the coordinator waits for the end state,
 * and an agent reports every interval anyway. The simulated agents of the bench pace their reports with this too.
 *
 * <pre>{@code if (ReportPacing.waits(previous.state(), next.state())) reportIn(ReportPacing.TRANSITIONAL); else report();}</pre>
 */
public final class ReportPacing {
  /** How long a transitional state waits for the state that ends it before it is reported. */
  public static final Duration TRANSITIONAL = Duration.ofMillis(100);

  private ReportPacing() {}

  /** Whether a change from {@code previous} to {@code next} waits {@link #TRANSITIONAL} before it is reported. */
  public static boolean waits(AgentState previous, AgentState next) {
    return next != previous && (next == AgentState.PREPARING || next == AgentState.SWITCHING);
  }
}
