package dev.lockstep.agent;

import dev.lockstep.protocol.DesiredState;

/**
 * What an agent does about a desired state, as decided by {@link Reconciler}. Each action carries the
 * desired state it answers, so the hooks get its release id, target revision, mode and phase.
 */
public sealed interface Action {

  /** The desired state it answers. */
  DesiredState desired();

  /** Nothing to do: already converged, or the phase asks nothing of agents. */
  record Nothing(DesiredState desired) implements Action {}

  /** The desired state comes from a coordinator older than one already seen; it is not even remembered. */
  record IgnoreStale(DesiredState desired, long highestEpochSeen) implements Action {}

  /** Run the prepare hook, then report the digest of the staged migrations. */
  record Prepare(DesiredState desired) implements Action {}

  /** Run the switch hook; if {@code prepareFirst}, run the prepare hook before it (a returning agent catching up). */
  record Switch(DesiredState desired, boolean prepareFirst) implements Action {}

  /**
   * Readiness mode, an instance on another revision than the release's: stop taking traffic now and report
   * {@code retired} (at the switch, or at PREPARING in maintenance mode). No hook runs.
   */
  record Retire(DesiredState desired) implements Action {}

  /** Already on the target revision of a completed release: say so by serving. */
  record Serve(DesiredState desired) implements Action {}

  /** The release ended before this agent switched: run the abort hook and stay on the old revision. */
  record Abort(DesiredState desired) implements Action {}

  /**
   * A non-atomic maintenance release failed after the schema moved: old code may not read it, so do
   * not go back; stay prepared and not serving ({@code holding}) until the operator fixes forward.
   */
  record Hold(DesiredState desired) implements Action {}
}
