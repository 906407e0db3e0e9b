package dev.lockstep.coordinator.migration;

import dev.lockstep.rules.Sql;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * A dropped table ({@code rows}) or column ({@code non-NULL values}) and how many would go: what pre-flight's
 * data-loss guard blocks on.
 *
 * <pre>{@code List<DataLoss> loss = DataLoss.count(live, before, diff.dropped());}</pre>
 */
public record DataLoss(String object, long count, boolean column) {

  public String describe() {
    return object + ", which holds " + count + (column ? " non-NULL value(s)" : " row(s)");
  }

  /**
   * How much data each drop would take with it, counted on {@code c} as the schema was before the migrations
   * ({@code baseline}); drops of what the release itself created hold no data of old code and are left out.
   */
  public static List<DataLoss> count(Connection c, SchemaShape baseline, List<CatalogDiff.Dropped> dropped)
      throws SQLException {
    List<DataLoss> loss = new ArrayList<>();
    try (Statement s = c.createStatement()) {
      for (CatalogDiff.Dropped d : dropped) {
        boolean existed = baseline.relations().values().stream().anyMatch(r -> r.schema().equals(d.schema())
            && r.name().equals(d.table())
            && (d.column() == null || r.columns().values().stream().anyMatch(col -> col.name().equals(d.column()))));
        if (!existed) {
          continue;
        }
        String table = Sql.qualified(d.schema(), d.table());
        String sql = d.column() == null
            ? "SELECT count(*) FROM " + table
            : "SELECT count(" + Sql.quoteIdent(d.column()) + ") FROM " + table;
        try (ResultSet rs = s.executeQuery(sql)) {
          rs.next();
          long n = rs.getLong(1);
          if (n > 0) {
            loss.add(new DataLoss(d.describe(), n, d.column() != null));
          }
        }
      }
    }
    return loss;
  }
}
