package dev.lockstep.coordinator.release;

/**
 * Ends a release FAILED. The {@link FleetInstruction} says what agents are told: abort when nothing
 * of the schema change committed, hold when a non-atomic maintenance release stopped part-way, and
 * nothing when the schema moved and agents already switch to match it.
 */
public final class ReleaseFailedException extends RuntimeException {
  private final FleetInstruction instruction;

  public ReleaseFailedException(String reason, FleetInstruction instruction, Throwable cause) {
    super(reason, cause);
    this.instruction = instruction;
  }

  public FleetInstruction instruction() {
    return instruction;
  }
}
