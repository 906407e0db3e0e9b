package dev.lockstep.coordinator.migration.locks;

import dev.lockstep.rules.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The table locks this session holds, read from {@code pg_locks}: a transaction keeps every lock until it ends, so
 * after each migration of a rehearsal the locks it took are there to read, and the rollback then releases them all.
 *
 * <pre>{@code Map<Long, String> tables = HeldLocks.existingTables(c);   // before anything runs
 * ... run a migration, then a query selecting HeldLocks.HELD_ON with the tables' OIDs ...
 * Map<String, LockMode> held = HeldLocks.parse(rs.getArray(1), tables);}</pre>
 */
public final class HeldLocks {
  private HeldLocks() {}

  /**
   * The tables (ordinary, partitioned, materialized views) that exist now, OID → {@code schema.name}: the ones whose
   * locks other sessions can wait for. A table created later in the same transaction is invisible to them.
   */
  public static Map<Long, String> existingTables(Connection c) throws SQLException {
    Map<Long, String> tables = new HashMap<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT c.oid::bigint, n.nspname, c.relname"
        + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'm')"
        + " AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'"
        + " AND n.nspname NOT LIKE 'pg\\_temp%'")) {
      while (rs.next()) {
        tables.put(rs.getLong(1), rs.getString(2) + "." + rs.getString(3));
      }
    }
    return tables;
  }

  /**
   * The locks this session holds, as a query's select-list item: an array of {@code "oid mode"} texts for the relations
   * whose OIDs are its one parameter ({@code ?::oid[]}); read them with {@link #parse}. A caller asks for its locks in
   * the round trip it makes anyway (the rehearsal's probe after each migration).
   */
  public static final String HELD_ON = "array(select l.relation::bigint || ' ' || l.mode from pg_locks l"
      + " where l.pid = pg_backend_pid() and l.locktype = 'relation' and l.granted"
      + " and l.database = (select oid from pg_database where datname = current_database()) and l.relation = any (?))";

  /**
   * What {@link #HELD_ON} returned: the strongest mode this session holds on each of {@code tables}, by name; modes below
   * SHARE UPDATE EXCLUSIVE left out.
   */
  public static Map<String, LockMode> parse(java.sql.Array rows, Map<Long, String> tables) throws SQLException {
    Map<String, LockMode> held = new TreeMap<>();
    for (String row : (String[]) rows.getArray()) {
      int space = row.indexOf(' ');
      add(held, tables, Long.parseLong(row.substring(0, space)), row.substring(space + 1));
    }
    return held;
  }

  /**
   * The locks of {@code seen} that were not held yet, or only in a weaker mode: what the statement run since took. They
   * are added to {@code held}, so each lock is counted once, under the first statement that holds that mode or stronger.
   */
  public static Map<String, LockMode> taken(Map<String, LockMode> held, Map<String, LockMode> seen) {
    Map<String, LockMode> taken = new TreeMap<>();
    seen.forEach((table, mode) -> {
      LockMode earlier = held.get(table);
      if (earlier == null || mode.compareTo(earlier) > 0) {
        taken.put(table, mode);
        held.put(table, mode);
      }
    });
    return taken;
  }

  private static void add(Map<String, LockMode> held, Map<Long, String> tables, long relation, String pgMode) {
    String table = tables.get(relation);
    LockMode mode = LockMode.fromPgLocks(pgMode).orElse(null);
    if (table != null && mode != null && mode.worthListing()) {
      held.merge(table, mode, (a, b) -> a.compareTo(b) >= 0 ? a : b);
    }
  }

  /** A table's size: the planner's row estimate (null if never analysed) and bytes with indexes and TOAST. */
  public record Size(Long rows, Long bytes) {
    static final Size UNKNOWN = new Size(null, null);
  }

  /** The sizes of {@code tables} ({@code schema.name}); a table not found (dropped since) is {@link Size#UNKNOWN}. */
  public static Map<String, Size> sizes(Connection c, Iterable<String> tables) throws SQLException {
    Map<String, Size> sizes = new HashMap<>();
    try (PreparedStatement s = c.prepareStatement("SELECT c.reltuples::bigint, pg_total_relation_size(c.oid)"
        + " FROM pg_class c WHERE c.oid = to_regclass(?)")) {
      for (String table : tables) {
        int dot = table.indexOf('.');
        s.setString(1, Sql.qualified(table.substring(0, dot), table.substring(dot + 1)));
        try (ResultSet rs = s.executeQuery()) {
          if (!rs.next()) {
            sizes.put(table, Size.UNKNOWN);
            continue;
          }
          long rows = rs.getLong(1);
          // reltuples is -1 until the table was first vacuumed or analysed (PostgreSQL 14+).
          sizes.put(table, new Size(rows < 0 ? null : rows, rs.getLong(2)));
        }
      }
    }
    return sizes;
  }
}
