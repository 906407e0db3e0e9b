package dev.lockstep.rules;

import dev.lockstep.rules.CatalogSnapshot.Column;
import dev.lockstep.rules.CatalogSnapshot.Constraint;
import dev.lockstep.rules.CatalogSnapshot.Index;
import dev.lockstep.rules.CatalogSnapshot.Table;
import dev.lockstep.rules.CatalogSnapshot.TableName;
import java.sql.Array;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The catalog queries behind {@link CatalogSnapshot#read(Connection)}: one query each for tables,
 * columns, constraints and indexes, all filtered the same way, then grouped by table in memory.
 *
 * <p>The table list decides what the snapshot holds: in a {@code READ COMMITTED} transaction of the
 * caller's, a table created between two queries may show up in a later one, and its rows are dropped
 * rather than half-describing a table the snapshot does not list.
 */
final class CatalogReader {
  /** Tables and partitioned tables outside the system schemas and the coordinator's own. */
  private static final String USER_TABLES = """
      c.relkind in ('r', 'p')
        and n.nspname not in ('pg_catalog', 'information_schema', '%s')
        and n.nspname not like 'pg\\_toast%%'
        and n.nspname not like 'pg\\_temp\\_%%'
      """.formatted(CatalogSnapshot.COORDINATOR_SCHEMA);

  private static final String TABLES = """
      select n.nspname, c.relname, c.reltuples::bigint, c.relkind = 'p', c.relispartition,
             exists (select 1 from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where %s
       order by n.nspname, c.relname
      """.formatted(USER_TABLES);

  private static final String COLUMNS = """
      select n.nspname, c.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), not a.attnotnull
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
       where %s and a.attnum > 0 and not a.attisdropped
       order by n.nspname, c.relname, a.attnum
      """.formatted(USER_TABLES);

  private static final String CONSTRAINTS = """
      select n.nspname, c.relname, k.conname, k.contype,
             array(select a.attname::text
                     from unnest(k.conkey) with ordinality as key(attnum, ord)
                     join pg_attribute a on a.attrelid = k.conrelid and a.attnum = key.attnum
                    order by key.ord),
             pg_get_constraintdef(k.oid, true)
        from pg_constraint k
        join pg_class c on c.oid = k.conrelid
        join pg_namespace n on n.oid = c.relnamespace
       where %s and k.contype in ('p', 'u', 'f', 'c', 'x')
       order by n.nspname, c.relname, k.conname
      """.formatted(USER_TABLES);

  // indkey holds the key columns, then the INCLUDE columns; 0 marks an expression.
  private static final String INDEXES = """
      select n.nspname, c.relname, ic.relname, i.indisunique, i.indisprimary, i.indisvalid,
             i.indpred is not null, i.indexprs is not null,
             array(select case when key.attnum = 0 then pg_get_indexdef(i.indexrelid, key.ord::int, true)
                               else a.attname::text end
                     from unnest(i.indkey::int2[]) with ordinality as key(attnum, ord)
                     left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = key.attnum
                    where key.ord <= i.indnkeyatts
                    order by key.ord)
        from pg_index i
        join pg_class ic on ic.oid = i.indexrelid
        join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace
       where %s
       order by n.nspname, c.relname, ic.relname
      """.formatted(USER_TABLES);

  private final Connection connection;

  CatalogReader(Connection connection) {
    this.connection = connection;
  }

  CatalogSnapshot read() throws SQLException {
    Map<TableName, TableParts> tables = new LinkedHashMap<>();
    try (Statement statement = connection.createStatement()) {
      try (ResultSet rows = statement.executeQuery(TABLES)) {
        while (rows.next()) {
          TableName name = new TableName(rows.getString(1), rows.getString(2));
          tables.put(name, new TableParts(name, rows.getLong(3), rows.getBoolean(4), rows.getBoolean(5), rows.getBoolean(6)));
        }
      }
      try (ResultSet rows = statement.executeQuery(COLUMNS)) {
        while (rows.next()) {
          TableParts parts = tables.get(tableOf(rows));
          if (parts != null) {
            parts.columns.add(new Column(rows.getString(3), rows.getInt(4), rows.getString(5), rows.getBoolean(6)));
          }
        }
      }
      try (ResultSet rows = statement.executeQuery(CONSTRAINTS)) {
        while (rows.next()) {
          TableParts parts = tables.get(tableOf(rows));
          if (parts != null) {
            parts.constraints.add(new Constraint(rows.getString(3),
                Constraint.Type.fromCode(rows.getString(4).charAt(0)), strings(rows.getArray(5)), rows.getString(6)));
          }
        }
      }
      try (ResultSet rows = statement.executeQuery(INDEXES)) {
        while (rows.next()) {
          TableParts parts = tables.get(tableOf(rows));
          if (parts != null) {
            parts.indexes.add(new Index(rows.getString(3), rows.getBoolean(4), rows.getBoolean(5),
                rows.getBoolean(6), rows.getBoolean(7), rows.getBoolean(8), strings(rows.getArray(9))));
          }
        }
      }
    }
    return new CatalogSnapshot(tables.values().stream().map(TableParts::toTable).toList());
  }

  private static TableName tableOf(ResultSet row) throws SQLException {
    return new TableName(row.getString(1), row.getString(2));
  }

  private static List<String> strings(Array array) throws SQLException {
    try {
      return List.of((String[]) array.getArray());
    } finally {
      array.free();
    }
  }

  /** A table while its parts are being collected. */
  private static final class TableParts {
    final TableName name;
    final long estimatedRows;
    final boolean partitioned;
    final boolean partition;
    final boolean extensionMember;
    final List<Column> columns = new ArrayList<>();
    final List<Constraint> constraints = new ArrayList<>();
    final List<Index> indexes = new ArrayList<>();

    TableParts(TableName name, long estimatedRows, boolean partitioned, boolean partition, boolean extensionMember) {
      this.name = name;
      this.estimatedRows = estimatedRows;
      this.partitioned = partitioned;
      this.partition = partition;
      this.extensionMember = extensionMember;
    }

    Table toTable() {
      return new Table(name, estimatedRows, partitioned, partition, extensionMember, columns, constraints, indexes);
    }
  }
}
