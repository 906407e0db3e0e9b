package dev.lockstep.coordinator.preflight;

import dev.lockstep.coordinator.store.Connections;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The application, as far as a lock is concerned: one session inserting into {@code orders} in a loop, each insert
 * timed and filed under the phase it started in. Asynchronous commit, so a stall is a lock wait, not an fsync.
 *
 * <pre>{@code try (StallMeter writer = StallMeter.start(connections)) { writer.phase("check"); ... writer.summary(); }}</pre>
 */
final class StallMeter implements AutoCloseable {
  private final Connection connection;
  private final AtomicReference<String> phase = new AtomicReference<>("start");
  private final AtomicBoolean stopped = new AtomicBoolean();
  private final List<long[]> samples = new ArrayList<>(); // {phase index, nanos}
  private final List<String> phases = new ArrayList<>();
  private final Thread thread;
  private volatile SQLException error;

  private StallMeter(Connection connection) {
    this.connection = connection;
    this.thread = new Thread(this::write, "stall-meter");
  }

  static StallMeter start(Connections connections) throws SQLException {
    Connection c = connections.open("lockfootprint-writer");
    try (Statement s = c.createStatement()) {
      s.execute("SET synchronous_commit = off");
    }
    StallMeter meter = new StallMeter(c);
    meter.thread.start();
    return meter;
  }

  void phase(String name) {
    phase.set(name);
  }

  private void write() {
    try (PreparedStatement insert = connection.prepareStatement(
        "INSERT INTO orders (customer_id, total, note) VALUES (1, 1, 'written during a release')")) {
      while (!stopped.get()) {
        String now = phase.get();
        long started = System.nanoTime();
        insert.executeUpdate();
        long took = System.nanoTime() - started;
        synchronized (samples) {
          int at = phases.indexOf(now);
          if (at < 0) {
            phases.add(now);
            at = phases.size() - 1;
          }
          samples.add(new long[] {at, took});
        }
        Thread.sleep(2);
      }
    } catch (SQLException e) {
      error = e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Per phase: inserts and the longest. */
  record Summary(Map<String, long[]> byPhase) {
    /** The longest insert of {@code phase}, in ms (0 if none ran in it). */
    long longest(String phase) {
      long[] p = byPhase.get(phase);
      return p == null ? 0 : p[1];
    }

    @Override
    public String toString() {
      StringBuilder text = new StringBuilder();
      byPhase.forEach((phase, p) -> text.append(phase).append(": ").append(p[0]).append(" inserts, longest ")
          .append(p[1]).append(" ms; "));
      return text.toString();
    }
  }

  Summary summary() {
    if (error != null) {
      throw new AssertionError("the writer failed: " + error.getMessage(), error);
    }
    Map<String, long[]> byPhase = new LinkedHashMap<>();
    synchronized (samples) {
      for (long[] s : samples) {
        long[] p = byPhase.computeIfAbsent(phases.get((int) s[0]), k -> new long[2]);
        p[0]++;
        p[1] = Math.max(p[1], s[1] / 1_000_000);
      }
    }
    return new Summary(byPhase);
  }

  @Override
  public void close() throws SQLException, InterruptedException {
    stopped.set(true);
    thread.join(30_000);
    connection.close();
  }
}
