package dev.lockstep.coordinator.cli;

/** An operator-facing failure with the exit code the CLI ends with (2 refused, 3 unreachable, 1 release did not complete). */
public final class CliException extends RuntimeException {
  private final int exitCode;

  public CliException(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  public int exitCode() {
    return exitCode;
  }
}
