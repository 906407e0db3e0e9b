package dev.lockstep.protocol;

/**
 * The phases of a release, in order. The exact names are part of the contract (DESIGN.md):
 * {@code PLANNED → PREFLIGHT → PREPARING → MIGRATING → SWITCHING → CONTRACTING → COMPLETED}, or {@code ABORTED}
 * (stopped before any schema change committed) or {@code FAILED} (a migration or repair failed). {@code CONTRACTING}
 * comes only for a release with contract migrations: every server runs the new code, and the removals wait for the
 * last one still on another revision.
 */
public enum Phase {
  PLANNED, PREFLIGHT, PREPARING, MIGRATING, SWITCHING, CONTRACTING, COMPLETED, ABORTED, FAILED;

  /** A terminal phase never changes again. */
  public boolean isTerminal() {
    return this == COMPLETED || this == ABORTED || this == FAILED;
  }

  /** SWITCHING or later and not ended badly: the fleet was told to run the new code. */
  public boolean switchedOrLater() {
    return this == SWITCHING || this == CONTRACTING || this == COMPLETED;
  }

  /** Before MIGRATING nothing in the schema has changed, so an operator may still abort. */
  public boolean isAbortable() {
    return this == PLANNED || this == PREFLIGHT || this == PREPARING;
  }
}
