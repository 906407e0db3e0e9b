package dev.lockstep.coordinator.e2e;

/**
 * The fault matrix's cells of the coordinators' own faults: kill -9, SIGTERM and SIGSTOP of the instance running the
 * release, a standby starting late, the old primary restarting. How to run and read it: {@link FaultMatrix}.
 */
class FaultMatrixIT extends FaultMatrix {
  @Override
  boolean runs(Cell cell) {
    return coordinatorFault(cell);
  }

  @Override
  String reportName() {
    return "fault-matrix.md";
  }
}
