package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import java.time.Duration;

/**
 * The line {@code lockstep release} keeps at the bottom of a terminal while it follows a release:
 * the phase, agents through the phase of total, migrations applied of pending, and time so far.
 * Redrawn in place ({@code \r}, erase line) under the event lines; not used when stdout is not a terminal.
 *
 * <pre>{@code [MIGRATING ] ████████░░░░ agents 3/3 prepared · migrations 1/4 applied (V2 412 ms) · 12.4s}</pre>
 */
final class ProgressBar {
  private static final int WIDTH = 20;
  private static final String ERASE = "\r\033[K";

  private ProgressBar() {}

  /** The bar for {@code doc}, {@code elapsed} after the release started. */
  static String render(ReleaseDocument doc, Duration elapsed) {
    int agents = doc.agents().size();
    long through = doc.agents().stream().filter(a -> through(doc.phase(), a)).count();
    int pending = doc.pending().size();
    int applied = doc.applied().size();
    double done = fraction(doc.phase(), agents == 0 ? 1 : (double) through / agents, pending == 0 ? 1 : (double) applied / pending);
    int filled = (int) Math.round(done * WIDTH);
    StringBuilder bar = new StringBuilder().append('[').append(String.format("%-11s", doc.phase())).append("] ")
        .append("█".repeat(filled)).append("░".repeat(WIDTH - filled))
        .append(" agents ").append(through).append('/').append(agents).append(' ')
        .append(doc.phase().ordinal() >= Phase.SWITCHING.ordinal() ? "switched" : "prepared")
        .append(" · migrations ").append(applied).append('/').append(pending).append(" applied");
    if (!doc.applied().isEmpty()) {
      var last = doc.applied().get(doc.applied().size() - 1);
      bar.append(" (V").append(last.version()).append(' ').append(last.executionMs()).append(" ms)");
    }
    return bar.append(" · ").append(String.format("%.1fs", elapsed.toMillis() / 1000.0)).toString();
  }

  /** Erases the bar so an event line can be printed in its place. */
  static String erase() {
    return ERASE;
  }

  private static boolean through(Phase phase, ReleaseAgent a) {
    return phase.ordinal() >= Phase.SWITCHING.ordinal()
        ? a.switchedAt() != null || a.state() == AgentState.SERVING
        : a.state() == AgentState.PREPARED || a.state() == AgentState.SWITCHED;
  }

  /**
   * How far the release is: planning and pre-flight a tenth, preparing and migrating three tenths each, switching a
   * quarter, the contract the last twentieth.
   */
  private static double fraction(Phase phase, double agents, double migrations) {
    return switch (phase) {
      case PLANNED -> 0;
      case PREFLIGHT -> 0.05;
      case PREPARING -> 0.1 + 0.3 * agents;
      case MIGRATING -> 0.4 + 0.3 * migrations;
      case SWITCHING -> 0.7 + 0.25 * agents;
      case CONTRACTING -> 0.95;
      case COMPLETED -> 1;
      case ABORTED, FAILED -> 0;
    };
  }
}
