package dev.lockstep.coordinator.e2e;

import static org.awaitility.Awaitility.await;

import dev.lockstep.testkit.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The application's users during a column rename, through each server in turn: every request is what the code of the
 * revision that server runs now (its revision file, which its switch hook rewrites) would send — the old revision's
 * code writes and reads back the old column, every later one the new column: it inserts a row, and updates the row
 * the request before wrote (perhaps through the other revision's code). A failed statement, or a row that does not
 * read back what was written, is a failure.
 *
 * <pre>{@code RenamingClient client = new RenamingClient(db, fleet.dir, servers, "users", "v1", "legacy_name", "display_name");
 * client.start(); … client.stop(); assertThat(client.failures).isEmpty();}</pre>
 */
final class RenamingClient {
  final AtomicLong requests = new AtomicLong();
  final List<String> failures = new CopyOnWriteArrayList<>();
  final Map<String, Long> byRevision = new ConcurrentHashMap<>();
  /** When the old revision's code last succeeded (epoch ms). */
  final AtomicLong lastOldCode = new AtomicLong();

  private final TestDatabase db;
  private final Path fleetDir;
  private final List<String> servers;
  private final String table;
  private final String oldRevision;
  private final String oldColumn;
  private final String newColumn;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private Thread thread;

  /** @param table the table as SQL names it ({@code users}, {@code "user"}); it has an {@code email} column */
  RenamingClient(TestDatabase db, Path fleetDir, List<String> servers, String table, String oldRevision, String oldColumn,
                 String newColumn) {
    this.db = db;
    this.fleetDir = fleetDir;
    this.servers = servers;
    this.table = table;
    this.oldRevision = oldRevision;
    this.oldColumn = oldColumn;
    this.newColumn = newColumn;
  }

  void start() {
    thread = new Thread(this::run, "renaming-client");
    thread.start();
  }

  void stop() throws InterruptedException {
    running.set(false);
    if (thread != null) {
      thread.join(10_000);
    }
  }

  /** Waits until {@code n} requests were made in all, or one failed. */
  void awaitRequests(long n) {
    await().atMost(Duration.ofSeconds(30)).until(() -> requests.get() >= n || !failures.isEmpty());
  }

  private void run() {
    try (Connection c = db.connect()) {
      long n = 0;
      long previous = 0;
      while (running.get()) {
        long current = 0;
        String server = servers.get((int) (n++ % servers.size()));
        String revision = Files.readString(fleetDir.resolve("revision-" + server)).trim();
        if (revision.isEmpty()) {
          continue; // the switch hook is rewriting the file this instant: the server is between two codes
        }
        String column = revision.equals(oldRevision) ? oldColumn : newColumn;
        String written = server + " request " + n;
        try {
          try (PreparedStatement insert = c.prepareStatement("INSERT INTO " + table + " (" + column + ", email)"
              + " VALUES (?, ?) RETURNING id")) {
            insert.setString(1, written);
            insert.setString(2, server + "@example.com");
            try (ResultSet id = insert.executeQuery()) {
              id.next();
              current = id.getLong(1);
              try (PreparedStatement read = c.prepareStatement("SELECT " + column + " FROM " + table + " WHERE id = ?")) {
                read.setLong(1, id.getLong(1));
                try (ResultSet row = read.executeQuery()) {
                  row.next();
                  if (!written.equals(row.getString(1))) {
                    failures.add(revision + " on " + server + " read back " + row.getString(1));
                  }
                }
              }
            }
          }
          // The row the previous request wrote, perhaps through the other revision's code, updated through this one's.
          if (previous > 0) {
            try (PreparedStatement update = c.prepareStatement("UPDATE " + table + " SET " + column + " = ? WHERE id = ?")) {
              update.setString(1, written + " (update)");
              update.setLong(2, previous);
              update.executeUpdate();
            }
            try (PreparedStatement read = c.prepareStatement("SELECT " + column + " FROM " + table + " WHERE id = ?")) {
              read.setLong(1, previous);
              try (ResultSet row = read.executeQuery()) {
                row.next();
                if (!(written + " (update)").equals(row.getString(1))) {
                  failures.add(revision + " on " + server + " read back an update as " + row.getString(1));
                }
              }
            }
          }
          if (revision.equals(oldRevision)) {
            lastOldCode.set(System.currentTimeMillis());
          }
          byRevision.merge(revision, 1L, Long::sum);
        } catch (SQLException e) {
          failures.add(revision + " on " + server + ": " + e.getMessage());
        }
        previous = current;
        requests.incrementAndGet();
        Thread.sleep(5);
      }
    } catch (Exception e) {
      failures.add("client: " + e);
    }
  }
}
