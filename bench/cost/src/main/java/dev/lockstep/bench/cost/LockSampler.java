package dev.lockstep.bench.cost;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Samples {@code pg_locks} every 20 ms for sessions of the run's database waiting on a lock, by
 * {@code application_name} ({@code instance-N}, {@code traffic-N}, Lockstep's {@code lockstep-…}): an estimate of
 * each session's lock wait (samples × 20 ms). Flyway's own lock is a {@code pg_try_advisory_xact_lock} retried
 * every second, which never waits in {@code pg_locks}; those waits show in the instances' migrate times instead.
 */
final class LockSampler implements AutoCloseable {
  static final int PERIOD_MS = 20;
  private volatile boolean running = true;
  private final Thread thread;
  /** application_name → samples in which it waited. */
  final Map<String, AtomicLong> waits = new ConcurrentHashMap<>();
  final AtomicLong samples = new AtomicLong();
  /** Every wait seen: when (epoch millis) and whose (application_name), for attributing waits to release phases. */
  final java.util.List<long[]> trafficWaitTimes = java.util.Collections.synchronizedList(new java.util.ArrayList<>());

  LockSampler(Scratch db) {
    thread = new Thread(() -> sample(db), "lock-sampler");
    thread.setDaemon(true);
    thread.start();
  }

  private void sample(Scratch db) {
    String sql = "SELECT DISTINCT a.pid, coalesce(nullif(a.application_name, ''), 'unnamed') FROM pg_locks l"
        + " JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.datname = current_database()";
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      while (running) {
        try (ResultSet rs = s.executeQuery(sql)) {
          long now = System.currentTimeMillis();
          while (rs.next()) {
            String name = rs.getString(2);
            waits.computeIfAbsent(name, k -> new AtomicLong()).incrementAndGet();
            if (name.startsWith("traffic-")) {
              trafficWaitTimes.add(new long[] {now});
            }
          }
        }
        samples.incrementAndGet();
        LockstepFleet.sleep(PERIOD_MS);
      }
    } catch (SQLException e) {
      // the database went away at the end of the run
    }
  }

  /** Estimated milliseconds waited by sessions whose application_name starts with {@code prefix}. */
  long waitedMs(String prefix) {
    return waits.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)).mapToLong(e -> e.getValue().get()).sum()
        * PERIOD_MS;
  }

  /** How many distinct sessions named {@code prefix…} waited at least once. */
  long waiters(String prefix) {
    return waits.keySet().stream().filter(k -> k.startsWith(prefix)).count();
  }

  @Override
  public void close() {
    running = false;
    try {
      thread.join(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
