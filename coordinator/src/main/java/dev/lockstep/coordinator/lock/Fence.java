package dev.lockstep.coordinator.lock;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.store.EpochCheck;
import dev.lockstep.coordinator.store.FenceKeys;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL fence that makes one coordinator the migrator of a service, whatever Redis says.
 * Taking over increments the service's epoch in {@code lockstep.fence}; from then on every state
 * write and the migration itself check {@code epoch = mine} in their own transaction (see
 * {@link #checkEpoch}). A paused coordinator keeps its connections and advisory locks, so the
 * taker terminates the sessions that still hold the service's advisory locks, which rolls back
 * whatever they were doing.
 *
 * <p>All methods block: call them on a worker executor.
 *
 * <pre>{@code try (Fence.Held held = Fence.acquire(connection, "app", "coordinator-1")) {
 *   Fence.checkEpoch(tx, "app", held.epoch());   // in each fenced transaction, on any connection
 * }}</pre>
 */
public final class Fence {
  private static final Logger log = LoggerFactory.getLogger(Fence.class);
  private static final int TAKEOVER_ATTEMPTS = 10;

  /**
   * The application name of the connections a run migrates on (Flyway opens its own, and holds its
   * own lock on one of them). Once a takeover has the epoch, any such session is a stale run's.
   */
  public static String migrationApplicationName(String service) {
    return "lockstep-migrate/" + service;
  }

  private Fence() {}

  /** A won fence: the epoch and the direct connection that holds the run's advisory lock. */
  public record Held(String service, long epoch, Connection connection, FenceKeys keys) implements AutoCloseable {
    @Override
    public void close() {
      try (Statement s = connection.createStatement()) {
        s.execute("SELECT pg_advisory_unlock(" + keys.run() + ")");
      } catch (SQLException e) {
        log.debug("advisory unlock of {} failed ({}); closing the connection releases it", service, e.getMessage());
      }
      try {
        connection.close();
      } catch (SQLException e) {
        log.debug("closing fence connection of {}: {}", service, e.getMessage());
      }
    }
  }

  /**
   * Takes the fence for {@code service} on {@code connection} (a direct connection that this call
   * owns from now on): bumps the epoch, terminating writers of the old epoch that hold it up, then
   * terminates holders of the run lock and takes it for this session.
   */
  public static Held acquire(Connection connection, String service, String holder) throws SQLException {
    FenceKeys keys = FenceKeys.of(service);
    connection.setAutoCommit(true);
    try (PreparedStatement insert = connection.prepareStatement(
        "INSERT INTO lockstep.fence (service, epoch) VALUES (?, 0) ON CONFLICT (service) DO NOTHING")) {
      insert.setString(1, service);
      insert.executeUpdate();
    }
    long epoch = bumpEpoch(connection, keys, service, holder);
    List<Integer> stale = terminateHolders(connection, keys.run());
    stale.addAll(terminateMigrators(connection, service));
    if (!stale.isEmpty()) {
      log.warn("service {}: terminated {} session(s) of an earlier run that still held its advisory lock: {}",
          service, stale.size(), stale);
    }
    try (Statement s = connection.createStatement()) {
      s.execute("SET lock_timeout = 0");
      s.execute("SELECT pg_advisory_lock(" + keys.run() + ")");
    }
    return new Held(service, epoch, connection, keys);
  }

  private static long bumpEpoch(Connection c, FenceKeys keys, String service, String holder) throws SQLException {
    for (int attempt = 1; ; attempt++) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("SET LOCAL lock_timeout = '2s'");
        s.execute("SELECT pg_advisory_xact_lock(" + keys.write() + ")");
        // acquired_at is when the write lock was granted (clock_timestamp, not the transaction's start): every write of
        // the old epoch that held the lock has committed by then, so a write stamped earlier came first.
        try (PreparedStatement update = c.prepareStatement("UPDATE lockstep.fence SET epoch = epoch + 1, holder = ?,"
            + " acquired_at = clock_timestamp() WHERE service = ? RETURNING epoch")) {
          update.setString(1, holder);
          update.setString(2, service);
          try (ResultSet rs = update.executeQuery()) {
            rs.next();
            long epoch = rs.getLong(1);
            c.commit();
            return epoch;
          }
        }
      } catch (SQLException e) {
        c.rollback();
        if (!"55P03".equals(e.getSQLState()) || attempt >= TAKEOVER_ATTEMPTS) {
          throw e;
        }
        c.setAutoCommit(true);
        List<Integer> killed = terminateHolders(c, keys.write());
        log.warn("service {}: a write of the old epoch held the fence; terminated sessions {}", service, killed);
      } finally {
        c.setAutoCommit(true);
      }
    }
  }

  private static List<Integer> terminateMigrators(Connection c, String service) throws SQLException {
    List<Integer> pids = new ArrayList<>();
    try (PreparedStatement find = c.prepareStatement("SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
        + " WHERE application_name = ? AND datname = current_database() AND pid <> pg_backend_pid()")) {
      find.setString(1, migrationApplicationName(service));
      try (ResultSet rs = find.executeQuery()) {
        while (rs.next()) {
          pids.add(rs.getInt(1));
        }
      }
    }
    return pids;
  }

  private static List<Integer> terminateHolders(Connection c, long key) throws SQLException {
    List<Integer> pids = new ArrayList<>();
    try (PreparedStatement find = c.prepareStatement(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            + " AND classid = ?::oid AND objid = ?::oid AND objsubid = 1 AND pid <> pg_backend_pid()")) {
      find.setLong(1, FenceKeys.classId(key));
      find.setLong(2, FenceKeys.objectId(key));
      try (ResultSet rs = find.executeQuery()) {
        while (rs.next()) {
          pids.add(rs.getInt(1));
        }
      }
    }
    return pids;
  }

  /**
   * The fencing check, inside the caller's transaction: takes the shared write lock (so a takeover cannot slip in
   * before this transaction commits) and compares the epoch; the SQL is {@link EpochCheck}'s, the one every fenced write
   * runs.
   *
   * @throws LockstepException {@code FENCED} if the epoch is no longer {@code mine}
   */
  public static void checkEpoch(Connection tx, String service, long mine) throws SQLException {
    EpochCheck.check(tx, service, mine);
  }
}
