package dev.lockstep.coordinator.migration.alembic;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The revisions a database is at, read with SQL from Alembic's version table instead of asking {@code alembic
 * current} (a Python process that reads every revision: 0.5–1.1 s on a 273-revision chain). One row per current head:
 * several after branches that are not merged yet; none, or no table at all, on a database no revision was applied to.
 * The table is found as Alembic finds it: unqualified on the session's {@code search_path}, or in the schema env.py
 * names.
 *
 * <pre>{@code Set<String> heads = AlembicVersions.read(connection, AlembicDriver.VersionTable.DEFAULT);}</pre>
 */
final class AlembicVersions {
  private AlembicVersions() {}

  /** The {@code version_num} of every row, sorted; empty when the table does not exist. */
  static Set<String> read(Connection c, AlembicDriver.VersionTable table) throws SQLException {
    String name = (table.schema() == null ? "" : quote(table.schema()) + ".") + quote(table.table());
    try (PreparedStatement exists = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      exists.setString(1, name);
      try (ResultSet rs = exists.executeQuery()) {
        rs.next();
        if (!rs.getBoolean(1)) {
          return Set.of();
        }
      }
    }
    Set<String> heads = new LinkedHashSet<>();
    try (PreparedStatement rows = c.prepareStatement("SELECT version_num FROM " + name + " ORDER BY version_num");
         ResultSet rs = rows.executeQuery()) {
      while (rs.next()) {
        heads.add(rs.getString(1));
      }
    }
    return heads;
  }

  private static String quote(String identifier) {
    return '"' + identifier.replace("\"", "\"\"") + '"';
  }
}
