package dev.lockstep.coordinator.migration.locks;

import dev.lockstep.protocol.LockFootprint;
import java.util.List;
import java.util.Optional;

/**
 * PostgreSQL's table lock modes, weakest first, with what each blocks of an application's ordinary queries
 * (PostgreSQL manual, "Table-level Locks"): {@code INSERT}/{@code UPDATE}/{@code DELETE} take ROW EXCLUSIVE, which
 * SHARE and every stronger mode conflict with; {@code SELECT} takes ACCESS SHARE, which only ACCESS EXCLUSIVE
 * conflicts with.
 */
public enum LockMode {
  ACCESS_SHARE("AccessShareLock"),
  ROW_SHARE("RowShareLock"),
  ROW_EXCLUSIVE("RowExclusiveLock"),
  SHARE_UPDATE_EXCLUSIVE("ShareUpdateExclusiveLock"),
  SHARE("ShareLock"),
  SHARE_ROW_EXCLUSIVE("ShareRowExclusiveLock"),
  EXCLUSIVE("ExclusiveLock"),
  ACCESS_EXCLUSIVE("AccessExclusiveLock");

  private final String inPgLocks;

  LockMode(String inPgLocks) {
    this.inPgLocks = inPgLocks;
  }

  /** The mode as {@code pg_locks.mode} spells it ({@code ShareLock}); empty for anything else (advisory, SIReadLock). */
  public static Optional<LockMode> fromPgLocks(String mode) {
    for (LockMode m : values()) {
      if (m.inPgLocks.equals(mode)) {
        return Optional.of(m);
      }
    }
    return Optional.empty();
  }

  /** {@code SHARE ROW EXCLUSIVE}: as the manual and {@code LOCK TABLE} name it. */
  public String sqlName() {
    return name().replace('_', ' ');
  }

  /** Whether a footprint lists it: from SHARE UPDATE EXCLUSIVE up, which is what schema changes take. */
  public boolean worthListing() {
    return compareTo(SHARE_UPDATE_EXCLUSIVE) >= 0;
  }

  /** What of the application's it blocks: {@code writes}, and {@code reads} for ACCESS EXCLUSIVE. */
  public List<String> blocks() {
    if (this == ACCESS_EXCLUSIVE) {
      return List.of(LockFootprint.WRITES, LockFootprint.READS);
    }
    return compareTo(SHARE) >= 0 ? List.of(LockFootprint.WRITES) : List.of();
  }
}
