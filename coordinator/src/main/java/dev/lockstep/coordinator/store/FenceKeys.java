package dev.lockstep.coordinator.store;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The advisory-lock keys of one service, each a 64-bit key in PostgreSQL's one-{@code bigint} form:
 * <ul>
 *   <li>{@link #run()} — held for a whole release run, session-level, on the run's direct connection;</li>
 *   <li>{@link #write()} — taken shared by every fenced write transaction and exclusive by a takeover,
 *       so a takeover waits for (or terminates) writes that started under the old epoch.</li>
 * </ul>
 *
 * <p>A key is the first 8 bytes (big-endian, signed) of SHA-256 over {@code "lockstep:<purpose>:<service>"}
 * in UTF-8, {@code purpose} being {@code run} or {@code write}. Two services colliding would let one
 * terminate the other's run, so the key comes from a cryptographic hash, not {@code String.hashCode}
 * ({@code "Aa"} and {@code "BB"} share one). In {@code pg_locks} a key shows as {@code classid} (high
 * 32 bits), {@code objid} (low 32 bits), {@code objsubid = 1}.
 *
 * <pre>{@code FenceKeys keys = FenceKeys.of("shop");
 * statement.execute("SELECT pg_advisory_lock(" + keys.run() + ")");}</pre>
 */
public record FenceKeys(long run, long write) {

  public static FenceKeys of(String service) {
    return new FenceKeys(key("run", service), key("write", service));
  }

  /** The key for {@code purpose} of {@code service}, as documented above. */
  static long key(String purpose, String service) {
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256")
          .digest(("lockstep:" + purpose + ":" + service).getBytes(StandardCharsets.UTF_8));
      return ByteBuffer.wrap(hash, 0, Long.BYTES).getLong();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /** SQL for the fenced-write prelude: the shared write lock, held to the end of the transaction. */
  public String sharedWriteLockSql() {
    return "SELECT pg_advisory_xact_lock_shared(" + write + ")";
  }

  public static final String EPOCH_SQL = "SELECT epoch FROM lockstep.fence WHERE service = ?";

  /** {@code pg_locks.classid} of a key: its high 32 bits, as PostgreSQL shows them (an unsigned oid). */
  public static long classId(long key) {
    return key >>> 32;
  }

  /** {@code pg_locks.objid} of a key: its low 32 bits. */
  public static long objectId(long key) {
    return key & 0xFFFF_FFFFL;
  }
}
