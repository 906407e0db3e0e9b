package dev.lockstep.coordinator.preflight;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts and times what a piece of code sends to PostgreSQL over one JDBC connection: every {@code execute…} of a
 * statement, and every commit, rollback and savepoint, grouped by what it is ({@code SELECT txid_current()}, the
 * catalog's queries, {@code pg_locks}, the migrations' own statements…). Round trips do not depend on the machine's
 * load, so a test can hold the rehearsal to a count; the times are for reading.
 *
 * <pre>{@code RoundTrips trips = new RoundTrips();
 * Connection c = trips.wrap(db.connect());
 * ... run the rehearsal on c ...
 * trips.count();         // 812
 * trips.report();        // per kind: count, ms}</pre>
 */
final class RoundTrips {
  private final Map<String, AtomicLong> counts = new TreeMap<>();
  private final Map<String, AtomicLong> nanos = new TreeMap<>();

  Connection wrap(Connection connection) {
    return (Connection) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Connection.class},
        new Handler(connection, null));
  }

  synchronized long count() {
    return counts.values().stream().mapToLong(AtomicLong::get).sum();
  }

  synchronized long count(String kind) {
    AtomicLong n = counts.get(kind);
    return n == null ? 0 : n.get();
  }

  synchronized String report() {
    StringBuilder out = new StringBuilder();
    counts.forEach((kind, n) -> out.append(String.format(Locale.ROOT, "%-40s %6d %8.1f ms%n", kind, n.get(),
        nanos.get(kind).get() / 1e6)));
    out.append(String.format(Locale.ROOT, "%-40s %6d %8.1f ms%n", "total", count(),
        nanos.values().stream().mapToLong(AtomicLong::get).sum() / 1e6));
    return out.toString();
  }

  private synchronized void record(String kind, long took) {
    counts.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
    nanos.computeIfAbsent(kind, k -> new AtomicLong()).addAndGet(took);
  }

  /** What kind of round trip {@code sql} is, by its first words. */
  static String kind(String sql) {
    String s = sql.strip().replaceAll("\\s+", " ").toLowerCase(Locale.ROOT);
    if (s.startsWith("with judged as")) {
      return "probe (txid, digest, locks)";
    }
    if (s.contains("txid_current")) {
      return "txid_current";
    }
    if (s.contains("from pg_locks") && !s.contains("pg_stat_activity")) {
      return "pg_locks (own)";
    }
    if (s.contains("from pg_attribute") || s.contains("from pg_constraint") || s.startsWith("select c.oid, n.nspname")
        || s.startsWith("select current_schema()") || s.contains("from pg_index ") || s.contains("from pg_sequence")
        || s.contains("pg_stat_progress_create_index")) {
      return "catalog";
    }
    if (s.startsWith("savepoint") || s.startsWith("rollback") || s.startsWith("release")) {
      return "savepoint/rollback";
    }
    int space = s.indexOf(' ');
    String first = space < 0 ? s : s.substring(0, space);
    return switch (first) {
      case "create", "alter", "insert", "comment", "drop", "update", "delete" -> "migration: " + first;
      default -> "other: " + (s.length() > 30 ? s.substring(0, 30) : s);
    };
  }

  private final class Handler implements InvocationHandler {
    private final Object target;
    private final String sql;

    Handler(Object target, String sql) {
      this.target = target;
      this.sql = sql;
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
      String name = method.getName();
      long started = System.nanoTime();
      Object result;
      try {
        result = method.invoke(target, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      } finally {
        if (name.startsWith("execute") && !name.equals("executeBatch")) {
          String text = args != null && args.length > 0 && args[0] instanceof String s ? s : sql;
          record(kind(text == null ? "?" : text), System.nanoTime() - started);
        } else if (target instanceof Connection && (name.equals("commit") || name.equals("rollback")
            || name.equals("setSavepoint") || name.equals("releaseSavepoint"))) {
          record("savepoint/rollback", System.nanoTime() - started);
        }
      }
      if (result instanceof PreparedStatement p) {
        return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {PreparedStatement.class},
            new Handler(p, (String) args[0]));
      }
      if (result instanceof Statement s) {
        return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Statement.class},
            new Handler(s, null));
      }
      return result;
    }
  }
}
