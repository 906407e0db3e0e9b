package dev.lockstep.rules;

import dev.lockstep.rules.CatalogSnapshot.Column;
import dev.lockstep.rules.CatalogSnapshot.Constraint;
import dev.lockstep.rules.CatalogSnapshot.Relation;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What a set of migrations did to the schema, judged by what code written for the old schema can
 * still do. Additions (tables, nullable columns, columns with defaults, indexes) are safe for old
 * code; anything else is a reason for maintenance mode, and drops are candidates for data loss.
 *
 * <p>Relations are matched by OID and columns by attribute number, so a rename inside the migrations'
 * transaction is a rename, not a drop plus an add. Tables, partitioned tables, views and materialized
 * views are compared ({@link #relations}); Flyway's history table, in whatever schema, is not. A pure
 * comparison of two {@link CatalogSnapshot}s: it reads nothing.
 *
 * <pre>{@code
 * CatalogSnapshot before = CatalogSnapshot.read(connection);
 * // … run a migration in the same transaction …
 * CatalogDiff diff = CatalogDiff.between(before, CatalogSnapshot.read(connection));
 * diff.breaking();   // ["renames column public.user.name to full_name", …]
 * diff.dropped();    // tables and columns to count rows of before allowing the drop
 * }</pre>
 *
 * @param breaking what old code cannot live with, each as a phrase that follows a migration's label
 * @param dropped the tables and columns dropped, for the data-loss guard (not views: they hold no data)
 */
public record CatalogDiff(List<String> breaking, List<Dropped> dropped) {

  public CatalogDiff {
    breaking = List.copyOf(breaking);
    dropped = List.copyOf(dropped);
  }

  /** A table (column null) or a column that the migrations drop. */
  public record Dropped(String schema, String table, String column) {
    public String describe() {
      return column == null ? "table " + schema + "." + table : "column " + schema + "." + table + "." + column;
    }
  }

  /**
   * The relations the comparison looks at, by OID in the snapshot's order: every table and view but Flyway's
   * history table ({@value CatalogSnapshot#FLYWAY_HISTORY}), which the migrations' tool writes, not the migrations.
   */
  public static Map<Long, Relation> relations(CatalogSnapshot snapshot) {
    return snapshot.relations().stream()
        .filter(relation -> !relation.name().name().equals(CatalogSnapshot.FLYWAY_HISTORY))
        .collect(Collectors.toMap(Relation::oid, Function.identity(), (a, b) -> a, LinkedHashMap::new));
  }

  public static CatalogDiff between(CatalogSnapshot before, CatalogSnapshot after) {
    return between(before, after, relation -> true);
  }

  /**
   * As {@link #between(CatalogSnapshot, CatalogSnapshot)}, judging only the relations of {@code before} that
   * {@code oldCodeUses} keeps: a table an earlier migration of the same release created is no old code's, so what a
   * later one does to it (a foreign key on it, a NOT NULL column) breaks nothing.
   */
  public static CatalogDiff between(CatalogSnapshot before, CatalogSnapshot after,
                                    java.util.function.Predicate<Relation> oldCodeUses) {
    Map<Long, Relation> later = relations(after);
    List<String> breaking = new ArrayList<>();
    List<Dropped> dropped = new ArrayList<>();
    for (Relation old : relations(before).values()) {
      if (!oldCodeUses.test(old)) {
        continue;
      }
      Relation now = later.get(old.oid());
      boolean table = old.kind() == Relation.Kind.TABLE || old.kind() == Relation.Kind.PARTITIONED_TABLE;
      String kind = table ? "table" : "view";
      if (now == null) {
        breaking.add("drops " + kind + " " + old.name());
        if (table) {
          dropped.add(new Dropped(old.name().schema(), old.name().name(), null));
        }
        continue;
      }
      if (!now.name().equals(old.name())) {
        breaking.add("renames " + kind + " " + old.name() + " to " + now.name());
      }
      Map<Integer, Column> columnsNow = byPosition(now.columns());
      for (Column col : old.columns()) {
        Column c = columnsNow.get(col.position());
        String name = old.name() + "." + col.name();
        if (c == null) {
          breaking.add("drops column " + name);
          if (table) {
            dropped.add(new Dropped(old.name().schema(), old.name().name(), col.name()));
          }
        } else {
          if (!c.name().equals(col.name())) {
            breaking.add("renames column " + name + " to " + c.name());
          }
          if (!c.type().equals(col.type())) {
            breaking.add("changes the type of " + name + " from " + col.type() + " to " + c.type());
          }
          if (!c.nullable() && col.nullable()) {
            breaking.add("adds NOT NULL to " + name);
          }
        }
      }
      Set<Integer> oldPositions = byPosition(old.columns()).keySet();
      for (Column c : now.columns()) {
        if (!oldPositions.contains(c.position()) && !c.nullable() && !c.hasDefault()) {
          breaking.add("adds column " + now.name() + "." + c.name()
              + " NOT NULL without a default, which old code's inserts omit");
        }
      }
      Set<String> oldConstraints = constraints(old).stream().map(Constraint::name).collect(Collectors.toSet());
      for (Constraint c : constraints(now)) {
        if (!oldConstraints.contains(c.name()) && c.type() != Constraint.Type.PRIMARY_KEY && c.validated()) {
          breaking.add("adds " + constraintKind(c.type()) + " constraint " + c.name() + " on " + now.name()
              + ", which old code can violate");
        }
      }
    }
    return new CatalogDiff(breaking, dropped);
  }

  private static Map<Integer, Column> byPosition(List<Column> columns) {
    return columns.stream().collect(Collectors.toMap(Column::position, Function.identity()));
  }

  /** A view has none. */
  private static List<Constraint> constraints(Relation relation) {
    return relation instanceof CatalogSnapshot.Table table ? table.constraints() : List.of();
  }

  private static String constraintKind(Constraint.Type type) {
    return switch (type) {
      case FOREIGN_KEY -> "foreign key";
      case UNIQUE -> "unique";
      case CHECK -> "check";
      case EXCLUSION -> "exclusion";
      default -> "a";
    };
  }
}
