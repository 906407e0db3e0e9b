package dev.lockstep.rules;

import dev.lockstep.rules.CatalogSnapshot.Column;
import dev.lockstep.rules.CatalogSnapshot.Constraint;
import dev.lockstep.rules.CatalogSnapshot.HistoryEntry;
import dev.lockstep.rules.CatalogSnapshot.Index;
import dev.lockstep.rules.CatalogSnapshot.OwnedBy;
import dev.lockstep.rules.CatalogSnapshot.Sequence;
import dev.lockstep.rules.CatalogSnapshot.SessionLock;
import dev.lockstep.rules.CatalogSnapshot.Table;
import dev.lockstep.rules.CatalogSnapshot.TableName;
import java.sql.Array;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The catalog queries behind {@link CatalogSnapshot#read(Connection)}: one query each for tables,
 * columns, constraints, indexes, index builds in progress, sequences, table locks, and Flyway's history,
 * all filtered the same way, then grouped by table in memory. Nine queries, whatever the schema's size.
 *
 * <p>The table list decides what the snapshot holds: in a {@code READ COMMITTED} transaction of the
 * caller's, a table created between two queries may show up in a later one, and its rows are dropped
 * rather than half-describing a table the snapshot does not list.
 */
final class CatalogReader {
  /** How much of a session's query the snapshot keeps: enough to recognise it, not a whole migration. */
  static final int QUERY_WIDTH = 300;

  /** Schemas the rules look at: not the system's, not temporary ones, not the coordinator's. */
  private static final String USER_SCHEMA = """
      n.nspname not in ('pg_catalog', 'information_schema', '%s')
        and n.nspname not like 'pg\\_toast%%'
        and n.nspname not like 'pg\\_temp\\_%%'
      """.formatted(CatalogSnapshot.COORDINATOR_SCHEMA);

  /** Tables and partitioned tables in those schemas. */
  private static final String USER_TABLES = "c.relkind in ('r', 'p') and " + USER_SCHEMA;

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

  // indkey holds the key columns, then the INCLUDE columns; 0 marks an expression, whose text only
  // pg_get_indexdef can give (so it is called for expression keys only: it is the costly part).
  private static final String INDEXES = """
      select n.nspname, c.relname, ic.relname, i.indisunique, i.indisprimary, i.indisvalid,
             i.indpred is not null, i.indexprs is not null,
             array(select array[coalesce(a.attname::text, key.sql), key.sql]
                     from (select k.attnum, k.ord,
                                  case when k.attnum = 0 then pg_get_indexdef(i.indexrelid, k.ord::int, true) end as sql
                             from unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
                            where k.ord <= i.indnkeyatts) key
                     left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = key.attnum and key.attnum > 0
                    order by key.ord),
             case when i.indpred is not null then pg_get_expr(i.indpred, i.indrelid, true) end
        from pg_index i
        join pg_class ic on ic.oid = i.indexrelid
        join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace
       where %s
       order by n.nspname, c.relname, ic.relname
      """.formatted(USER_TABLES);

  /** Indexes a concurrent build or reindex is working on now: invalid because unfinished, not failed. */
  private static final String INDEX_BUILDS = """
      select n.nspname, c.relname, ic.relname
        from pg_stat_progress_create_index p
        join pg_class ic on ic.oid = p.index_relid
        join pg_class c on c.oid = p.relid
        join pg_namespace n on n.oid = c.relnamespace
       where p.datid = (select oid from pg_database where datname = current_database())
      """;

  // A sequence's owner is the column it depends on: 'a' (serial, OWNED BY) or 'i' (identity).
  // pg_sequence_last_value reads each sequence, but in this one query, not one query per sequence.
  private static final String SEQUENCES = """
      select n.nspname, s.relname, format_type(q.seqtypid, null), q.seqstart, q.seqincrement, q.seqmin, q.seqmax,
             case when has_sequence_privilege(s.oid, 'SELECT,USAGE') then pg_sequence_last_value(s.oid) end,
             tn.nspname, t.relname, a.attname, format_type(a.atttypid, a.atttypmod), d.deptype = 'i'
        from pg_sequence q
        join pg_class s on s.oid = q.seqrelid
        join pg_namespace n on n.oid = s.relnamespace
        left join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = s.oid
             and d.refclassid = 'pg_class'::regclass and d.refobjsubid > 0 and d.deptype in ('a', 'i')
        left join pg_class t on t.oid = d.refobjid
        left join pg_namespace tn on tn.oid = t.relnamespace
        left join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
       where %s
       order by n.nspname, s.relname
      """.formatted(USER_SCHEMA);

  private static final String LOCKS = """
      select n.nspname, c.relname, l.pid, l.mode, l.granted, a.xact_start, a.state, a.backend_type, left(a.query, %d)
        from pg_locks l
        join pg_class c on c.oid = l.relation
        join pg_namespace n on n.oid = c.relnamespace
        left join pg_stat_activity a on a.pid = l.pid
       where l.locktype = 'relation'
         and l.database = (select oid from pg_database where datname = current_database())
         and l.pid is distinct from pg_backend_pid()
         and %s
       order by n.nspname, c.relname, l.pid, l.mode
      """.formatted(QUERY_WIDTH, USER_TABLES);

  /** Where unqualified names go, the server's clock, and whether Flyway keeps its history there. */
  private static final String SETTINGS = """
      select current_schema(), clock_timestamp(),
             case when current_schema() is not null
                  then to_regclass(format('%%I.%%I', current_schema(), '%s')) is not null else false end
      """.formatted(CatalogSnapshot.FLYWAY_HISTORY);

  private final Connection connection;

  CatalogReader(Connection connection) {
    this.connection = connection;
  }

  CatalogSnapshot read() throws SQLException {
    Map<TableName, TableParts> tables = new LinkedHashMap<>();
    List<Sequence> sequences = new ArrayList<>();
    List<SessionLock> locks = new ArrayList<>();
    List<HistoryEntry> history = List.of();
    String currentSchema;
    Instant readAt;
    try (Statement statement = connection.createStatement()) {
      boolean hasHistory;
      try (ResultSet rows = statement.executeQuery(SETTINGS)) {
        rows.next();
        currentSchema = rows.getString(1);
        readAt = rows.getTimestamp(2).toInstant();
        hasHistory = rows.getBoolean(3);
      }
      readTables(statement, tables);
      readIndexes(statement, tables);
      try (ResultSet rows = statement.executeQuery(SEQUENCES)) {
        while (rows.next()) {
          sequences.add(sequence(rows));
        }
      }
      try (ResultSet rows = statement.executeQuery(LOCKS)) {
        while (rows.next()) {
          locks.add(lock(rows));
        }
      }
      if (hasHistory) {
        history = history(statement, currentSchema);
      }
    }
    return new CatalogSnapshot(tables.values().stream().map(TableParts::toTable).toList(), sequences, locks, history,
        currentSchema, readAt);
  }

  private static void readTables(Statement statement, Map<TableName, TableParts> tables) throws SQLException {
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
  }

  private static void readIndexes(Statement statement, Map<TableName, TableParts> tables) throws SQLException {
    Set<List<String>> building = new HashSet<>();
    try (ResultSet rows = statement.executeQuery(INDEX_BUILDS)) {
      while (rows.next()) {
        building.add(List.of(rows.getString(1), rows.getString(2), rows.getString(3)));
      }
    }
    try (ResultSet rows = statement.executeQuery(INDEXES)) {
      while (rows.next()) {
        TableParts parts = tables.get(tableOf(rows));
        if (parts == null) {
          continue;
        }
        List<String> columns = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        Array array = rows.getArray(9);
        try {
          for (String[] key : (String[][]) array.getArray()) {
            columns.add(key[0]);
            keys.add(key[1] != null ? key[1] : Sql.quoteIdent(key[0])); // an expression, else a column
          }
        } finally {
          array.free();
        }
        String name = rows.getString(3);
        parts.indexes.add(new Index(name, rows.getBoolean(4), rows.getBoolean(5), rows.getBoolean(6),
            rows.getBoolean(7), rows.getBoolean(8), columns, keys, rows.getString(10),
            building.contains(List.of(parts.name.schema(), parts.name.name(), name))));
      }
    }
  }

  private static Sequence sequence(ResultSet rows) throws SQLException {
    OwnedBy owner = null;
    if (rows.getString(9) != null && rows.getString(11) != null) {
      owner = new OwnedBy(new TableName(rows.getString(9), rows.getString(10)), rows.getString(11), rows.getString(12),
          rows.getBoolean(13));
    }
    long last = rows.getLong(8);
    return new Sequence(new TableName(rows.getString(1), rows.getString(2)), rows.getString(3), rows.getLong(4),
        rows.getLong(5), rows.getLong(6), rows.getLong(7), rows.wasNull() ? null : last, owner);
  }

  private static SessionLock lock(ResultSet rows) throws SQLException {
    int pid = rows.getInt(3);
    Integer pidOrNull = rows.wasNull() ? null : pid;
    Timestamp start = rows.getTimestamp(6);
    return new SessionLock(pidOrNull, tableOf(rows), rows.getString(4), rows.getBoolean(5),
        start == null ? null : start.toInstant(), rows.getString(7), rows.getString(8), rows.getString(9));
  }

  /**
   * Flyway's history, read through {@code to_jsonb} so that a table of that name with other columns
   * (an older Flyway, or not Flyway's at all) cannot fail the whole snapshot: rows without a
   * {@code success} field mean it is not Flyway's history, and it is read as empty.
   */
  private static List<HistoryEntry> history(Statement statement, String schema) throws SQLException {
    List<HistoryEntry> history = new ArrayList<>();
    String sql = "select j->>'installed_rank', j->>'version', j->>'description', j->>'type', j->>'script',"
        + " j->>'checksum', j->>'success' from (select to_jsonb(h) as j from "
        + Sql.qualified(schema, CatalogSnapshot.FLYWAY_HISTORY) + " h) history";
    try (ResultSet rows = statement.executeQuery(sql)) {
      while (rows.next()) {
        Integer rank = integer(rows.getString(1));
        String success = rows.getString(7);
        if (rank == null || success == null) {
          return List.of();
        }
        history.add(new HistoryEntry(rank, rows.getString(2), rows.getString(3), rows.getString(4),
            rows.getString(5), integer(rows.getString(6)), Boolean.parseBoolean(success)));
      }
    }
    history.sort(Comparator.comparingInt(HistoryEntry::installedRank));
    return history;
  }

  private static Integer integer(String text) {
    try {
      return text == null ? null : Integer.valueOf(text);
    } catch (NumberFormatException e) {
      return null;
    }
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
