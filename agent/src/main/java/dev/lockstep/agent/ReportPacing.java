package dev.lockstep.agent;

import dev.lockstep.protocol.AgentState;
import io.vertx.core.Vertx;
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
 * <p>One per agent, used on its event loop only.
 *
 * <pre>{@code
 * ReportPacing pacing = new ReportPacing(vertx, this::report);
 * pacing.changed(previous.state(), next.state());   // after each change of state
 * pacing.reporting();                               // first thing in report(): a report is going out now
 * }</pre>
 */
public final class ReportPacing {
  /** How long a transitional state waits for the state that ends it before it is reported. */
  public static final Duration TRANSITIONAL = Duration.ofMillis(100);

  private final Vertx vertx;
  private final Runnable report;
  /** The timer of a waiting report; -1 if none waits. */
  private long waiting = -1;

  public ReportPacing(Vertx vertx, Runnable report) {
    this.vertx = vertx;
    this.report = report;
  }

  /** After a change of state: reports it now, or once {@link #TRANSITIONAL} has passed if it is transitional. */
  public void changed(AgentState previous, AgentState next) {
    if (!waits(previous, next)) {
      report.run();
    } else if (waiting < 0) {
      waiting = vertx.setTimer(TRANSITIONAL.toMillis(), t -> {
        waiting = -1;
        report.run();
      });
    }
  }

  /** A report is going out now, with the latest state: one waiting is no longer needed. */
  public void reporting() {
    if (waiting >= 0) {
      vertx.cancelTimer(waiting);
      waiting = -1;
    }
  }

  /** Whether a change from {@code previous} to {@code next} waits {@link #TRANSITIONAL} before it is reported. */
  private static boolean waits(AgentState previous, AgentState next) {
    return next != previous && (next == AgentState.PREPARING || next == AgentState.SWITCHING);
  }
}
