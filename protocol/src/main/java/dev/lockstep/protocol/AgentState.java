package dev.lockstep.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * What an agent is doing, as it reports it (and {@code lost}, which only the coordinator says of
 * an agent that has gone silent).
 */
public enum AgentState {
  /** Serving on its revision, no release in hand. */
  SERVING,
  /** Running its prepare hook for a release. */
  PREPARING,
  /** Prepare hook succeeded; new code staged; waiting for the switch. */
  PREPARED,
  /** Running its switch hook. */
  SWITCHING,
  /** Switched to the release's target revision. */
  SWITCHED,
  /**
   * Readiness mode: an instance on another revision that stopped taking traffic when a release to a new revision
   * switched (at PREPARING in maintenance mode); the platform removes it.
   */
  RETIRED,
  /** Ran its abort hook and stays on its old revision. */
  ABORTED,
  /** Not serving, waiting for the operator: a failed non-atomic maintenance release. */
  HOLDING,
  /** A hook failed; {@code detail} carries the tail of its stderr. */
  FAILED,
  /** Silent for longer than the liveness timeout (said by the coordinator only). */
  LOST;

  @JsonValue
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  @JsonCreator
  public static AgentState parse(String text) {
    for (AgentState state : values()) {
      if (state.wireName().equalsIgnoreCase(text.trim())) {
        return state;
      }
    }
    throw new IllegalArgumentException("unknown agent state '" + text + "'");
  }
}
