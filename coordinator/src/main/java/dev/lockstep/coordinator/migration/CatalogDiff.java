package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.migration.SchemaShape.Column;
import dev.lockstep.coordinator.migration.SchemaShape.Constraint;
import dev.lockstep.coordinator.migration.SchemaShape.Relation;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What a set of migrations did to the schema, judged by what code written for the old schema can
 * still do. Additions (tables, nullable columns, columns with defaults, indexes) are safe for old
 * code; anything else is a reason for maintenance mode, and drops are candidates for data loss.
 */
public record CatalogDiff(List<String> breaking, List<Dropped> dropped) {

  /** A table (column null) or a column that the migrations drop. */
  public record Dropped(String schema, String table, String column) {
    public String describe() {
      return column == null ? "table " + schema + "." + table : "column " + schema + "." + table + "." + column;
    }
  }

  public static CatalogDiff between(SchemaShape before, SchemaShape after) {
    List<String> breaking = new ArrayList<>();
    List<Dropped> dropped = new ArrayList<>();
    for (Relation old : before.relations().values()) {
      Relation now = after.relations().get(old.oid());
      String kind = old.kind() == 'v' || old.kind() == 'm' ? "view" : "table";
      if (now == null) {
        breaking.add("drops " + kind + " " + old.qualified());
        if (kind.equals("table")) {
          dropped.add(new Dropped(old.schema(), old.name(), null));
        }
        continue;
      }
      if (!now.qualified().equals(old.qualified())) {
        breaking.add("renames " + kind + " " + old.qualified() + " to " + now.qualified());
      }
      for (Column col : old.columns().values()) {
        Column c = now.columns().get(col.number());
        String name = old.qualified() + "." + col.name();
        if (c == null) {
          breaking.add("drops column " + name);
          if (kind.equals("table")) {
            dropped.add(new Dropped(old.schema(), old.name(), col.name()));
          }
        } else {
          if (!c.name().equals(col.name())) {
            breaking.add("renames column " + name + " to " + c.name());
          }
          if (!c.type().equals(col.type())) {
            breaking.add("changes the type of " + name + " from " + col.type() + " to " + c.type());
          }
          if (c.notNull() && !col.notNull()) {
            breaking.add("adds NOT NULL to " + name);
          }
        }
      }
      for (Column c : now.columns().values()) {
        if (!old.columns().containsKey(c.number()) && c.notNull() && !c.hasDefault()) {
          breaking.add("adds column " + now.qualified() + "." + c.name() + " NOT NULL without a default, which old code's inserts omit");
        }
      }
      for (Map.Entry<String, Constraint> e : now.constraints().entrySet()) {
        Constraint c = e.getValue();
        if (!old.constraints().containsKey(e.getKey()) && c.type() != 'p' && c.validated()) {
          breaking.add("adds " + constraintKind(c.type()) + " constraint " + c.name() + " on " + now.qualified()
              + ", which old code can violate");
        }
      }
    }
    return new CatalogDiff(List.copyOf(breaking), List.copyOf(dropped));
  }

  private static String constraintKind(char type) {
    return switch (type) {
      case 'f' -> "foreign key";
      case 'u' -> "unique";
      case 'c' -> "check";
      case 'x' -> "exclusion";
      default -> "a";
    };
  }
}
