package dev.lockstep.coordinator.migration.locks;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches, from a connection of its own, for sessions that wait on a rehearsal's backend ({@code pg_blocking_pids}),
 * and when one has waited {@link StepAside#after()}, marks the rehearsal {@link #steppedAside() stepped aside} and
 * cancels its running statement ({@code pg_cancel_backend}) — again at every poll until {@link #close()}, because a
 * cancel that arrives while the backend is between statements is dropped by PostgreSQL. The rehearsal checks
 * {@link #steppedAside()} before each statement and after each failure, and rolls back.
 *
 * <pre>{@code try (RehearsalWatch watch = RehearsalWatch.start(watchConnection, backendPid, StepAside.DEFAULT)) {
 *   ... if (watch.steppedAside()) roll back and go on elsewhere ...
 * }}</pre>
 */
public final class RehearsalWatch implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RehearsalWatch.class);
  private static final RehearsalWatch NONE = new RehearsalWatch(null, 0, StepAside.NEVER);

  private final Connection connection;
  private final int backend;
  private final StepAside policy;
  private final AtomicBoolean stopped = new AtomicBoolean();
  private final Thread thread;
  private volatile boolean steppedAside;
  private volatile String waiter;

  private RehearsalWatch(Connection connection, int backend, StepAside policy) {
    this.connection = connection;
    this.backend = backend;
    this.policy = policy;
    this.thread = connection == null ? null : new Thread(this::watch, "lockstep-rehearsal-watch-" + backend);
  }

  /** A watch that never steps aside: {@link StepAside#NEVER}, or nothing to watch with. */
  public static RehearsalWatch none() {
    return NONE;
  }

  /**
   * Starts watching {@code backend} (the rehearsal's {@code pg_backend_pid()}). Takes {@code connection} (autocommit,
   * the same database) and closes it on {@link #close()}.
   */
  public static RehearsalWatch start(Connection connection, int backend, StepAside policy) {
    if (policy.never()) {
      try {
        connection.close();
      } catch (SQLException e) {
        // nothing to watch with anyway
      }
      return NONE;
    }
    RehearsalWatch watch = new RehearsalWatch(connection, backend, policy);
    watch.thread.setDaemon(true);
    watch.thread.start();
    return watch;
  }

  /** Whether a session waited too long and the rehearsal must give its locks back. */
  public boolean steppedAside() {
    return steppedAside;
  }

  /** Which session waited, for the report ({@code pid 4242 (app, waiting on a lock on public.orders)}); null if none. */
  public String waiter() {
    return waiter;
  }

  private void watch() {
    Map<Integer, Long> firstSeen = new HashMap<>();
    long pollMs = Math.max(1, policy.poll().toMillis());
    long afterNanos = policy.after().toNanos();
    long lastCancel = 0;
    try (PreparedStatement waiting = connection.prepareStatement("SELECT w.pid, w.application_name,"
        + " (SELECT string_agg(DISTINCT l.relation::regclass::text, ', ') FROM pg_locks l WHERE l.pid = w.pid AND NOT l.granted"
        + "   AND l.locktype = 'relation')"
        + " FROM pg_stat_activity w WHERE w.wait_event_type = 'Lock' AND w.pid <> pg_backend_pid()"
        + " AND ? = ANY (pg_blocking_pids(w.pid))");
        PreparedStatement cancel = connection.prepareStatement("SELECT pg_cancel_backend(?)")) {
      waiting.setInt(1, backend);
      cancel.setInt(1, backend);
      while (!stopped.get()) {
        long now = System.nanoTime();
        if (!steppedAside) {
          Set<Integer> seen = new HashSet<>();
          try (ResultSet rs = waiting.executeQuery()) {
            while (rs.next()) {
              int pid = rs.getInt(1);
              seen.add(pid);
              long since = firstSeen.computeIfAbsent(pid, p -> now);
              if (now - since >= afterNanos && !steppedAside) {
                String on = rs.getString(3);
                waiter = "pid " + pid + (rs.getString(2) == null || rs.getString(2).isEmpty() ? "" : " (" + rs.getString(2)
                    + ")") + (on == null ? "" : " waiting on " + on);
                steppedAside = true;
              }
            }
          }
          firstSeen.keySet().retainAll(seen);
        }
        if (steppedAside && now - lastCancel >= TimeUnit.MILLISECONDS.toNanos(pollMs)) {
          try (ResultSet rs = cancel.executeQuery()) {
            lastCancel = now;
          }
        }
        Thread.sleep(pollMs);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SQLException e) {
      // Without its eyes the watch cannot step aside; the rehearsal goes on as it did before watches existed.
      log.warn("the rehearsal's lock watch on backend {} stopped: {}", backend, e.getMessage());
    }
  }

  /** Stops watching: no cancel is sent after this returns. */
  @Override
  public void close() {
    if (thread == null || !stopped.compareAndSet(false, true)) {
      return;
    }
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      connection.close();
    } catch (SQLException e) {
      log.debug("closing the rehearsal's lock watch connection: {}", e.getMessage());
    }
  }
}
