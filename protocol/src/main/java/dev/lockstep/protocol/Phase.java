package dev.lockstep.protocol;

/**
 * The phases of a release, in order. The exact names are part of the contract (DESIGN.md):
 * {@code PLANNED → PREFLIGHT → PREPARING → MIGRATING → SWITCHING → COMPLETED}, or {@code ABORTED}
 * (stopped before any schema change committed) or {@code FAILED} (a migration or repair failed).
 */
public enum Phase {
  PLANNED, PREFLIGHT, PREPARING, MIGRATING, SWITCHING, COMPLETED, ABORTED, FAILED;

  /** A terminal phase never changes again. */
  public boolean isTerminal() {
    return this == COMPLETED || this == ABORTED || this == FAILED;
  }

  /** Before MIGRATING nothing in the schema has changed, so an operator may still abort. */
  public boolean isAbortable() {
    return this == PLANNED || this == PREFLIGHT || this == PREPARING;
  }
}
