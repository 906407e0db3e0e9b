package dev.lockstep.coordinator.preflight;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.LockFootprint;
import dev.lockstep.protocol.Severity;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code lock-footprint} findings: a warning for each lock a migration takes that will stall the application
 * noticeably while the release migrates — one that blocks its writes (or reads) on an existing table and was held long
 * in the rehearsal, cut short there, or, untimed, is on a big table. A warning, not a block: the release may well be
 * worth the stall; it is said before anything runs, with the table's size and a hint for a weaker lock. Every lock,
 * long or not, is in the report's {@code locks}.
 *
 * <pre>{@code findings.addAll(LockFindings.of(rehearsal.locks()));}</pre>
 */
final class LockFindings {
  static final String RULE = "lock-footprint";
  /** Held this long, a lock is a stall a user notices (a web request's budget), not a blip. */
  static final long LONG_MS = 200;
  /** An untimed lock (rehearsed on a clone) on a table this big is assumed long. */
  static final long BIG_ROWS = 100_000;
  static final long BIG_BYTES = 64L << 20;

  private LockFindings() {}

  static List<Finding> of(List<LockFootprint> locks) {
    List<Finding> findings = new ArrayList<>();
    for (LockFootprint lock : locks) {
      if (lock.blocksApplication() && isLong(lock)) {
        findings.add(new Finding(RULE, Severity.WARN, lock.table(), lock.describe()
            + "; the application waits for it while the release migrates", List.of()));
      }
    }
    return findings;
  }

  static boolean isLong(LockFootprint lock) {
    if (lock.cutShort()) {
      return true;
    }
    if (lock.heldMs() != null) {
      return lock.heldMs() >= LONG_MS;
    }
    return (lock.rows() != null && lock.rows() >= BIG_ROWS) || (lock.bytes() != null && lock.bytes() >= BIG_BYTES);
  }
}
