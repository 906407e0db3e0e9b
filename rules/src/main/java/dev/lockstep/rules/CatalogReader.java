package dev.lockstep.rules;

import dev.lockstep.rules.CatalogSnapshot.Column;
import dev.lockstep.rules.CatalogSnapshot.Constraint;
import dev.lockstep.rules.CatalogSnapshot.HistoryEntry;
import dev.lockstep.rules.CatalogSnapshot.Index;
import dev.lockstep.rules.CatalogSnapshot.OwnedBy;
import dev.lockstep.rules.CatalogSnapshot.Relation.Kind;
import dev.lockstep.rules.CatalogSnapshot.Sequence;
import dev.lockstep.rules.CatalogSnapshot.SessionLock;
import dev.lockstep.rules.CatalogSnapshot.Table;
import dev.lockstep.rules.CatalogSnapshot.TableName;
import dev.lockstep.rules.CatalogSnapshot.View;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The catalog queries behind {@link CatalogSnapshot#read(Connection)}: one query each for relations
 * (tables and views), columns, constraints, indexes, index builds in progress, sequences, table locks,
 * and Flyway's history, all filtered the same way, then grouped by relation in memory: nine queries
 * whatever the schema's size, plus one per 500 sequences for their last values.
 *
 * <p>The relation list decides what the snapshot holds: in a {@code READ COMMITTED} transaction of the
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

  /** Tables, partitioned tables, views and materialized views in those schemas: what has columns code reads. */
  private static final String USER_RELATIONS = "c.relkind in ('r', 'p', 'v', 'm') and " + USER_SCHEMA;

  private static final String RELATIONS = """
      select c.oid, n.nspname, c.relname, c.reltuples::bigint, c.relkind, c.relispartition,
             exists (select 1 from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where %s
       order by n.nspname, c.relname
      """.formatted(USER_RELATIONS);

  // The parts below name their table by oid and their columns by number, and are ordered by oid:
  // sorting tens of thousands of rows by schema and table name, or resolving every column name in SQL,
  // cost more than all the rest of the query.
  private static final String COLUMNS = """
      select a.attrelid, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), not a.attnotnull, a.atthasdef
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
       where %s and a.attnum > 0 and not a.attisdropped
       order by a.attrelid, a.attnum
      """.formatted(USER_RELATIONS);

  // Every kind of table constraint but PostgreSQL 18's NOT NULL ('n'), which the column's nullable says.
  // Printing the definitions is most of this query's time; the relations-only read leaves them out.
  private static final String CONSTRAINTS = """
      select k.conrelid, k.conname, k.contype, array_to_string(k.conkey, ' '), %s, k.convalidated
        from pg_constraint k
        join pg_class c on c.oid = k.conrelid
        join pg_namespace n on n.oid = c.relnamespace
       where %s and k.contype in ('p', 'u', 'f', 'c', 'x', 't')
       order by k.conrelid, k.conname
      """;
  private static final String DEFINITION = "pg_get_constraintdef(k.oid, true)";

  // indkey holds the key columns, then the INCLUDE columns; 0 marks an expression, whose text only
  // pg_get_indexdef gives, so it is called for indexes on expressions only.
  private static final String INDEXES = """
      select i.indrelid, ic.relname, i.indisunique, i.indisprimary, i.indisvalid,
             i.indpred is not null, i.indexprs is not null, i.indkey::text, i.indnkeyatts,
             case when i.indexprs is not null
                  then array(select pg_get_indexdef(i.indexrelid, k, true) from generate_series(1, i.indnkeyatts) k) end,
             case when i.indpred is not null then pg_get_expr(i.indpred, i.indrelid, true) end,
             i.indexrelid
        from pg_index i
        join pg_class ic on ic.oid = i.indexrelid
        join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace
       where %s
       order by i.indrelid, ic.relname
      """.formatted(USER_TABLES);

  /** Indexes a concurrent build or reindex is working on now: invalid because unfinished, not failed. */
  private static final String INDEX_BUILDS = """
      select p.index_relid from pg_stat_progress_create_index p
       where p.datid = (select oid from pg_database where datname = current_database())
      """;

  // A sequence's owner is the column it depends on: 'a' (serial, OWNED BY) or 'i' (identity).
  private static final String SEQUENCES = """
      select s.oid, n.nspname, s.relname, format_type(q.seqtypid, null), q.seqstart, q.seqincrement, q.seqmin,
             q.seqmax, tn.nspname, t.relname, a.attname, format_type(a.atttypid, a.atttypmod), d.deptype = 'i'
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

  // pg_sequence_last_value takes a RowExclusiveLock on each sequence until the transaction ends; over
  // thousands of sequences that would fill the server's lock table, so it runs in slices, each in a
  // savepoint whose rollback releases them.
  private static final String LAST_VALUES = """
      select q.seqrelid,
             case when has_sequence_privilege(q.seqrelid, 'SELECT,USAGE') then pg_sequence_last_value(q.seqrelid) end
        from pg_sequence q
       where q.seqrelid = any (?)
      """;
  private static final int LAST_VALUES_SLICE = 500;

  private static final String LOCKS = """
      select l.relation, l.pid, l.mode, l.granted, a.xact_start, a.state, a.backend_type, left(a.query, %d)
        from pg_locks l
        left join pg_stat_activity a on a.pid = l.pid
       where l.locktype = 'relation'
         and l.database = (select oid from pg_database where datname = current_database())
         and l.pid is distinct from pg_backend_pid()
       order by l.relation, l.pid, l.mode
      """.formatted(QUERY_WIDTH);

  /** Where unqualified names go, the server's clock, and whether Flyway keeps its history there. */
  private static final String SETTINGS = """
      select current_schema(), clock_timestamp(),
             case when current_schema() is not null
                  then to_regclass(format('%%I.%%I', current_schema(), '%s')) is not null else false end
      """.formatted(CatalogSnapshot.FLYWAY_HISTORY);

  private final Connection connection;
  private final boolean relationsOnly;

  /**
   * @param relationsOnly read tables and views with their columns and constraints only: no indexes, sequences,
   *     locks, nor Flyway's history ({@link CatalogSnapshot#readRelations})
   */
  CatalogReader(Connection connection, boolean relationsOnly) {
    this.connection = connection;
    this.relationsOnly = relationsOnly;
  }

  CatalogSnapshot read() throws SQLException {
    Map<Long, RelationParts> relations = new LinkedHashMap<>();
    List<SessionLock> locks = new ArrayList<>();
    List<HistoryEntry> history = List.of();
    List<Sequence> sequences;
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
      readRelations(statement, relations, relationsOnly);
      if (relationsOnly) {
        return snapshot(relations, List.of(), locks, history, currentSchema, readAt);
      }
      readIndexes(statement, relations);
      sequences = readSequences(statement);
      try (ResultSet rows = statement.executeQuery(LOCKS)) {
        while (rows.next()) {
          RelationParts table = relations.get(rows.getLong(1));
          // a lock on a table the snapshot lists: not on catalogs, indexes, views, our own schema
          if (table != null && table.isTable()) {
            locks.add(lock(table.name, rows));
          }
        }
      }
      if (hasHistory) {
        history = history(statement, currentSchema);
      }
    }
    return snapshot(relations, sequences, locks, history, currentSchema, readAt);
  }

  private static CatalogSnapshot snapshot(Map<Long, RelationParts> relations, List<Sequence> sequences,
      List<SessionLock> locks, List<HistoryEntry> history, String currentSchema, Instant readAt) {
    List<Table> tables = relations.values().stream().filter(RelationParts::isTable).map(RelationParts::toTable).toList();
    List<View> views = relations.values().stream().filter(parts -> !parts.isTable()).map(RelationParts::toView).toList();
    return new CatalogSnapshot(tables, views, sequences, locks, history, currentSchema, readAt);
  }

  private static void readRelations(Statement statement, Map<Long, RelationParts> relations, boolean withoutDefinitions)
      throws SQLException {
    try (ResultSet rows = statement.executeQuery(RELATIONS)) {
      while (rows.next()) {
        TableName name = new TableName(rows.getString(2), rows.getString(3));
        relations.put(rows.getLong(1), new RelationParts(rows.getLong(1), name, Kind.fromCode(rows.getString(5).charAt(0)),
            rows.getLong(4), rows.getBoolean(6), rows.getBoolean(7)));
      }
    }
    try (ResultSet rows = statement.executeQuery(COLUMNS)) {
      while (rows.next()) {
        RelationParts parts = relations.get(rows.getLong(1));
        if (parts != null) {
          Column column = new Column(rows.getString(2), rows.getInt(3), rows.getString(4), rows.getBoolean(5),
              rows.getBoolean(6));
          parts.columns.add(column);
          parts.columnNames.put(column.position(), column.name());
        }
      }
    }
    String constraints = CONSTRAINTS.formatted(withoutDefinitions ? "null::text" : DEFINITION, USER_TABLES);
    try (ResultSet rows = statement.executeQuery(constraints)) {
      while (rows.next()) {
        RelationParts parts = relations.get(rows.getLong(1));
        if (parts != null) {
          parts.constraints.add(new Constraint(rows.getString(2), Constraint.Type.fromCode(rows.getString(3).charAt(0)),
              parts.names(numbers(rows.getString(4))), rows.getString(5), rows.getBoolean(6)));
        }
      }
    }
  }

  private static void readIndexes(Statement statement, Map<Long, RelationParts> tables) throws SQLException {
    Set<Long> building = new HashSet<>();
    try (ResultSet rows = statement.executeQuery(INDEX_BUILDS)) {
      while (rows.next()) {
        building.add(rows.getLong(1));
      }
    }
    try (ResultSet rows = statement.executeQuery(INDEXES)) {
      while (rows.next()) {
        RelationParts parts = tables.get(rows.getLong(1));
        if (parts == null) {
          continue;
        }
        List<Integer> attnums = numbers(rows.getString(8)).subList(0, rows.getInt(9));
        List<String> expressions = rows.getArray(10) == null ? null : strings(rows.getArray(10));
        List<String> columns = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (int k = 0; k < attnums.size(); k++) {
          String column = parts.columnNames.get(attnums.get(k));
          boolean expression = attnums.get(k) == 0 || column == null;
          columns.add(expression ? expressions.get(k) : column);
          keys.add(expression ? expressions.get(k) : Sql.quoteIdent(column));
        }
        parts.indexes.add(new Index(rows.getString(2), rows.getBoolean(3), rows.getBoolean(4), rows.getBoolean(5),
            rows.getBoolean(6), rows.getBoolean(7), columns, keys, rows.getString(11),
            building.contains(rows.getLong(12))));
      }
    }
  }

  private List<Sequence> readSequences(Statement statement) throws SQLException {
    List<Long> oids = new ArrayList<>();
    List<Sequence> sequences = new ArrayList<>();
    try (ResultSet rows = statement.executeQuery(SEQUENCES)) {
      while (rows.next()) {
        oids.add(rows.getLong(1));
        sequences.add(sequence(rows));
      }
    }
    Map<Long, Long> lastValues = new HashMap<>();
    for (int from = 0; from < oids.size(); from += LAST_VALUES_SLICE) {
      List<Long> slice = oids.subList(from, Math.min(from + LAST_VALUES_SLICE, oids.size()));
      lastValues.putAll(Transactions.undone(connection, () -> lastValues(slice)));
    }
    List<Sequence> withValues = new ArrayList<>(sequences.size());
    for (int i = 0; i < sequences.size(); i++) {
      Sequence s = sequences.get(i);
      withValues.add(new Sequence(s.name(), s.type(), s.start(), s.increment(), s.min(), s.max(),
          lastValues.get(oids.get(i)), s.ownedBy()));
    }
    return withValues;
  }

  private Map<Long, Long> lastValues(List<Long> oids) throws SQLException {
    Map<Long, Long> values = new HashMap<>();
    try (PreparedStatement statement = connection.prepareStatement(LAST_VALUES)) {
      statement.setArray(1, connection.createArrayOf("oid", oids.toArray()));
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          long value = rows.getLong(2);
          if (!rows.wasNull()) {
            values.put(rows.getLong(1), value);
          }
        }
      }
    }
    return values;
  }

  private static Sequence sequence(ResultSet rows) throws SQLException {
    OwnedBy owner = null;
    if (rows.getString(9) != null && rows.getString(11) != null) {
      owner = new OwnedBy(new TableName(rows.getString(9), rows.getString(10)), rows.getString(11), rows.getString(12),
          rows.getBoolean(13));
    }
    return new Sequence(new TableName(rows.getString(2), rows.getString(3)), rows.getString(4), rows.getLong(5),
        rows.getLong(6), rows.getLong(7), rows.getLong(8), null, owner);
  }

  private static SessionLock lock(TableName table, ResultSet rows) throws SQLException {
    int pid = rows.getInt(2);
    Integer pidOrNull = rows.wasNull() ? null : pid;
    Timestamp start = rows.getTimestamp(5);
    return new SessionLock(pidOrNull, table, rows.getString(3), rows.getBoolean(4),
        start == null ? null : start.toInstant(), rows.getString(6), rows.getString(7), rows.getString(8));
  }

  /** {@code "1 3"} (an {@code int2vector} or an array joined by spaces) as numbers; empty for null. */
  private static List<Integer> numbers(String text) {
    List<Integer> numbers = new ArrayList<>();
    if (text != null && !text.isBlank()) {
      for (String number : text.trim().split(" +")) {
        numbers.add(Integer.valueOf(number));
      }
    }
    return numbers;
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

  private static List<String> strings(Array array) throws SQLException {
    try {
      return List.of((String[]) array.getArray());
    } finally {
      array.free();
    }
  }

  /** A table or view while its parts are being collected (a view has columns only). */
  private static final class RelationParts {
    final long oid;
    final TableName name;
    final Kind kind;
    final long estimatedRows;
    final boolean partition;
    final boolean extensionMember;
    final List<Column> columns = new ArrayList<>();
    final List<Constraint> constraints = new ArrayList<>();
    final List<Index> indexes = new ArrayList<>();
    final Map<Integer, String> columnNames = new HashMap<>();

    RelationParts(long oid, TableName name, Kind kind, long estimatedRows, boolean partition, boolean extensionMember) {
      this.oid = oid;
      this.name = name;
      this.kind = kind;
      this.estimatedRows = estimatedRows;
      this.partition = partition;
      this.extensionMember = extensionMember;
    }

    boolean isTable() {
      return kind == Kind.TABLE || kind == Kind.PARTITIONED_TABLE;
    }

    List<String> names(List<Integer> attnums) {
      return attnums.stream().map(columnNames::get).filter(Objects::nonNull).toList();
    }

    Table toTable() {
      return new Table(oid, name, estimatedRows, kind == Kind.PARTITIONED_TABLE, partition, extensionMember, columns,
          constraints, indexes);
    }

    View toView() {
      return new View(oid, name, kind == Kind.MATERIALIZED_VIEW, columns);
    }
  }
}
