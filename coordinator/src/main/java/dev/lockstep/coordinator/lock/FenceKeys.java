package dev.lockstep.coordinator.lock;

/**
 * The advisory-lock keys of one service. Two keys, both in the two-int form so they show in
 * {@code pg_locks} as {@code (classid, objid, objsubid = 2)}:
 * <ul>
 *   <li>{@link #run()} — held for a whole release run, session-level, on the run's direct connection;</li>
 *   <li>{@link #write()} — taken shared by every fenced write transaction and exclusive by a takeover,
 *       so a takeover waits for (or terminates) writes that started under the old epoch.</li>
 * </ul>
 */
public record FenceKeys(int runClass, int writeClass, int object) {
  private static final int RUN_CLASS = 0x4C4B5331; // "LKS1"
  private static final int WRITE_CLASS = 0x4C4B5332; // "LKS2"

  public static FenceKeys of(String service) {
    return new FenceKeys(RUN_CLASS, WRITE_CLASS, service.hashCode() & 0x7fffffff);
  }

  /** SQL for the fenced-write prelude: shared write lock, then read the epoch. Parameters: (service). */
  public String sharedWriteLockSql() {
    return "SELECT pg_advisory_xact_lock_shared(" + writeClass + ", " + object + ")";
  }

  public static final String EPOCH_SQL = "SELECT epoch FROM lockstep.fence WHERE service = ?";
}
