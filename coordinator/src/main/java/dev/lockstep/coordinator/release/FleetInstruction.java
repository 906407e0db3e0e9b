package dev.lockstep.coordinator.release;

/** What agents are told when a release ends badly. */
public enum FleetInstruction {
  /** Run the abort hook and stay on (or go back to) the old revision: the schema still suits it. */
  ABORT,
  /** Stay prepared and not serving: a maintenance release failed after part of it committed. */
  HOLD,
  /** Say nothing new: the schema moved and agents that switched must stay switched. */
  NONE
}
