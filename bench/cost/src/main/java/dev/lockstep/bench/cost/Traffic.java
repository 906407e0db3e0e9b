package dev.lockstep.bench.cost;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The application's requests, one thread per instance slot: every 100 ms the slot runs what its code would run (the
 * old code's read and write of {@code name}, or the new code's of {@code display_name}). Which code a slot runs is in
 * its state file ({@code old}, {@code new}): written {@code new} when the new instance is up (status quo: its start-up
 * migration finished; Lockstep: its agent's switch hook ran), as a rolling replacement takes the old instance out.
 * Each slot has its own connection ({@code application_name = traffic-N}).
 */
final class Traffic implements AutoCloseable {
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean running = true;
  final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
  /** Slot → first moment (millis) its new code answered. */
  final Map<Integer, Long> firstNew = new ConcurrentHashMap<>();
  /** Slots whose old code failed at least once (it ran against a schema it cannot read). */
  final Map<Integer, Long> oldFailedAt = new ConcurrentHashMap<>();
  final List<String> sampleErrors = java.util.Collections.synchronizedList(new ArrayList<>());

  Traffic(Scratch db, List<Path> stateFiles) {
    for (int i = 0; i < stateFiles.size(); i++) {
      int slot = i + 1;
      Path state = stateFiles.get(i);
      Thread t = new Thread(() -> serve(db, slot, state), "traffic-" + slot);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  private void serve(Scratch db, int slot, Path state) {
    try (Connection c = DriverManager.getConnection(db.jdbcUrl() + "&ApplicationName=traffic-" + slot)) {
      while (running) {
        String code = read(state);
        String[] requests = "new".equals(code) ? StatusQuoChain.NEW_CODE : StatusQuoChain.OLD_CODE;
        boolean ok = true;
        for (String sql : requests) {
          try (Statement s = c.createStatement()) {
            s.execute(sql);
          } catch (SQLException e) {
            ok = false;
            if (sampleErrors.size() < 5) {
              sampleErrors.add(code + " code, slot " + slot + ": " + e.getMessage().lines().findFirst().orElse(""));
            }
          }
        }
        long now = System.currentTimeMillis();
        counts.computeIfAbsent(code + (ok ? "Ok" : "Failed"), k -> new AtomicLong()).incrementAndGet();
        if ("new".equals(code) && ok) {
          firstNew.putIfAbsent(slot, now);
        }
        if (!"new".equals(code) && !ok) {
          oldFailedAt.putIfAbsent(slot, now);
        }
        LockstepFleet.sleep(100);
      }
    } catch (SQLException e) {
      sampleErrors.add("slot " + slot + " lost its connection: " + e.getMessage());
    }
  }

  private static String read(Path state) {
    try {
      return Files.readString(state).trim();
    } catch (IOException e) {
      return "old";
    }
  }

  long count(String key) {
    AtomicLong n = counts.get(key);
    return n == null ? 0 : n.get();
  }

  @Override
  public void close() {
    running = false;
    for (Thread t : threads) {
      try {
        t.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
