package dev.lockstep.coordinator.migration;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;

/**
 * The part of the catalog that old code depends on — relations, their columns and constraints —
 * keyed by OID and attribute number, so that a rename inside one transaction is seen as a rename
 * and not as a drop plus an add. Read with two queries; used to compare the schema before and
 * after a rehearsal.
 */
public record SchemaShape(Map<Long, Relation> relations) {

  /** A table, view or materialized view. */
  public record Relation(long oid, String schema, String name, char kind, Map<Integer, Column> columns,
                         Map<String, Constraint> constraints) {
    public String qualified() {
      return schema + "." + name;
    }
  }

  public record Column(int number, String name, String type, boolean notNull, boolean hasDefault) {}

  public record Constraint(String name, char type, boolean validated) {}

  private static final String RELATIONS = """
      SELECT c.oid, n.nspname, c.relname, c.relkind, a.attnum, a.attname,
             format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relkind IN ('r', 'p', 'v', 'm')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'lockstep')
        AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
        AND NOT (c.relname = 'flyway_schema_history')
      """;

  private static final String CONSTRAINTS = """
      SELECT con.conrelid, con.conname, con.contype, con.convalidated
      FROM pg_constraint con
      JOIN pg_class c ON c.oid = con.conrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'lockstep')
      """;

  public static SchemaShape read(Connection c) throws SQLException {
    Map<Long, Relation> relations = new HashMap<>();
    try (Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery(RELATIONS)) {
        while (rs.next()) {
          long oid = rs.getLong(1);
          Relation rel = relations.computeIfAbsent(oid, o -> {
            try {
              return new Relation(o, rs.getString(2), rs.getString(3), rs.getString(4).charAt(0), new HashMap<>(), new HashMap<>());
            } catch (SQLException e) {
              throw new IllegalStateException(e);
            }
          });
          int attnum = rs.getInt(5);
          if (!rs.wasNull()) {
            rel.columns().put(attnum, new Column(attnum, rs.getString(6), rs.getString(7), rs.getBoolean(8), rs.getBoolean(9)));
          }
        }
      }
      try (ResultSet rs = s.executeQuery(CONSTRAINTS)) {
        while (rs.next()) {
          Relation rel = relations.get(rs.getLong(1));
          if (rel != null) {
            rel.constraints().put(rs.getString(2), new Constraint(rs.getString(2), rs.getString(3).charAt(0), rs.getBoolean(4)));
          }
        }
      }
    }
    return new SchemaShape(relations);
  }
}
