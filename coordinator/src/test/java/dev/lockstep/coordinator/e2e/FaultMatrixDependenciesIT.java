package dev.lockstep.coordinator.e2e;

/**
 * The fault matrix's cells of faults around the coordinators: Redis restarting empty or failing over, PostgreSQL
 * terminating their sessions, agents killed, an operator's abort, a non-atomic release failing after a takeover, two
 * release requests at once. How to run and read it: {@link FaultMatrix}.
 */
class FaultMatrixDependenciesIT extends FaultMatrix {
  @Override
  boolean runs(Cell cell) {
    return !coordinatorFault(cell);
  }

  @Override
  String reportName() {
    return "fault-matrix-dependencies.md";
  }
}
