package dev.lockstep.rules;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * One consistent read of the database catalog: every user table with its columns, constraints and
 * indexes, the views and materialized views with their columns, the sequences with the columns that own
 * them, the table locks other sessions hold or wait for, and Flyway's history. It takes a fixed handful of
 * queries however many tables there are, so that rules look at the same picture and never query the
 * catalog table by table. Two snapshots, before and after migrations, are what {@link CatalogDiff}
 * compares: relations carry their OID and columns their attribute number, so that a rename is seen as a
 * rename.
 *
 * <p>Relations in {@code pg_catalog}, {@code information_schema}, {@code pg_toast*}, temporary schemas
 * and the coordinator's own schema {@value #COORDINATOR_SCHEMA} are left out. Tables and views are
 * ordered by schema and name; columns by position; constraints and indexes by name.
 *
 * <pre>{@code
 * CatalogSnapshot snapshot = CatalogSnapshot.read(connection);
 * snapshot.table("public", "user").ifPresent(user -> {
 *   if (!user.hasPrimaryKey()) { ... }
 *   user.column("id").map(Column::nullable);
 * });
 * snapshot.views();            // views and materialized views, with their columns
 * snapshot.sequences();        // with owner column and last value
 * snapshot.locks();            // who holds or waits for a lock on which table
 * snapshot.flywayHistory();    // empty if there is no flyway_schema_history in the current schema
 * }</pre>
 *
 * @param tables every table read (ordinary and partitioned, partitions included), with its parts
 * @param views every view and materialized view in the same schemas, with its columns
 * @param sequences every sequence in the same schemas, by schema and name
 * @param locks table locks held or awaited by other sessions of this database (never the reader's own)
 * @param flywayHistory the rows of {@value #FLYWAY_HISTORY} in {@code currentSchema}, by installed rank;
 *     empty if that table does not exist
 * @param currentSchema the connection's {@code current_schema()}, which unqualified names refer to; may be null
 * @param readAt the server's clock when the snapshot was read, to measure transaction ages against
 */
public record CatalogSnapshot(List<Table> tables, List<View> views, List<Sequence> sequences, List<SessionLock> locks,
    List<HistoryEntry> flywayHistory, String currentSchema, Instant readAt) {
  /** The coordinator keeps its own state in this schema; rules leave it alone. */
  public static final String COORDINATOR_SCHEMA = "lockstep";
  /** Flyway's history table, looked for in the current schema (Flyway's default). */
  public static final String FLYWAY_HISTORY = "flyway_schema_history";

  public CatalogSnapshot {
    tables = List.copyOf(tables);
    views = List.copyOf(views);
    sequences = List.copyOf(sequences);
    locks = List.copyOf(locks);
    flywayHistory = List.copyOf(flywayHistory);
  }

  /**
   * Reads the catalog. On an autocommit connection it reads in its own {@code REPEATABLE READ READ ONLY}
   * transaction (and restores the connection's settings); inside a transaction it reads what that
   * transaction sees.
   */
  public static CatalogSnapshot read(Connection connection) throws SQLException {
    return Transactions.readConsistently(connection, () -> new CatalogReader(connection, false).read());
  }

  /**
   * Reads what {@link CatalogDiff} compares and nothing else: the tables and views with their columns and
   * constraints, whose {@link Constraint#definition()} is null; {@link Table#indexes()}, {@link #sequences()},
   * {@link #locks()} and {@link #flywayHistory()} are left empty. A rehearsal reads the catalog before and after
   * every migration while it holds the migrations' locks; this read costs about a third of {@link #read}'s (no
   * printed definitions or index expressions, no sequence values, no lock table). Transactions as in {@link #read}.
   */
  public static CatalogSnapshot readRelations(Connection connection) throws SQLException {
    return Transactions.readConsistently(connection, () -> new CatalogReader(connection, true).read());
  }

  /** The tables, then the views: every relation the snapshot holds. */
  public List<Relation> relations() {
    List<Relation> relations = new ArrayList<>(tables.size() + views.size());
    relations.addAll(tables);
    relations.addAll(views);
    return relations;
  }

  /**
   * The table a name from configuration refers to: {@code schema.name} exactly as {@link TableName#toString()}
   * prints it, or a bare name in the {@link #currentSchema()}.
   */
  public Optional<Table> resolve(String configuredName) {
    return tables.stream().filter(table -> table.name().matches(configuredName, currentSchema)).findFirst();
  }

  /** The tables of the snapshot that {@code names} refer to ({@code schema.name} or bare names in the current schema). */
  public Set<TableName> resolveAll(Set<String> names) {
    Set<TableName> resolved = new HashSet<>();
    for (String name : names) {
      resolve(name).ifPresent(table -> resolved.add(table.name()));
    }
    return resolved;
  }

  /**
   * The tables whose definition (columns, constraints, indexes) differs between this snapshot and
   * {@code after}, including tables only one of them has: what a rehearsed migration touched.
   */
  public Set<TableName> changedTables(CatalogSnapshot after) {
    Map<TableName, Table> before = byName(tables);
    Map<TableName, Table> later = byName(after.tables);
    Set<TableName> names = new LinkedHashSet<>(before.keySet());
    names.addAll(later.keySet());
    Set<TableName> changed = new LinkedHashSet<>();
    for (TableName name : names) {
      Table a = before.get(name);
      Table b = later.get(name);
      if (a == null || b == null || !a.columns().equals(b.columns()) || !a.constraints().equals(b.constraints())
          || !a.indexes().equals(b.indexes())) {
        changed.add(name);
      }
    }
    return changed;
  }

  private static Map<TableName, Table> byName(List<Table> tables) {
    return tables.stream().collect(Collectors.toMap(Table::name, Function.identity()));
  }

  public Optional<Table> table(String schema, String name) {
    return table(new TableName(schema, name));
  }

  public Optional<Table> table(TableName name) {
    return tables.stream().filter(table -> table.name().equals(name)).findFirst();
  }

  /** Whether the table exists and has a primary key. */
  public boolean hasPrimaryKey(TableName name) {
    return table(name).map(Table::hasPrimaryKey).orElse(false);
  }

  /**
   * A table or a view: what has columns that code reads. {@link CatalogDiff} compares relations by
   * {@link #oid()}, so a relation renamed between two snapshots keeps its identity.
   */
  public sealed interface Relation permits Table, View {
    /** The relation's {@code pg_class} OID: stable across renames, new for a relation dropped and created again. */
    long oid();

    TableName name();

    Kind kind();

    /** Its columns by position, dropped columns left out. */
    List<Column> columns();

    default Optional<Column> column(String columnName) {
      return columns().stream().filter(column -> column.name().equals(columnName)).findFirst();
    }

    /** The kinds of relation read, with their {@code pg_class.relkind} code. */
    enum Kind {
      TABLE('r'), PARTITIONED_TABLE('p'), VIEW('v'), MATERIALIZED_VIEW('m');

      private final char code;

      Kind(char code) {
        this.code = code;
      }

      public char code() {
        return code;
      }

      public static Kind fromCode(char code) {
        for (Kind kind : values()) {
          if (kind.code == code) {
            return kind;
          }
        }
        throw new IllegalArgumentException("unknown relation kind '" + code + "'");
      }
    }
  }

  /**
   * A relation's schema and name, unquoted: a table's, a view's, or a sequence's. {@link #toString()} is the
   * {@code schema.name} form used in findings and messages; {@link #quoted()} is the form for SQL.
   */
  public record TableName(String schema, String name) {
    public TableName {
      if (schema == null || name == null) {
        throw new IllegalArgumentException("a table needs a schema and a name, got " + schema + "." + name);
      }
    }

    /** Whether {@code configuredName} ({@code schema.name}, or a bare name in {@code currentSchema}) is this one. */
    public boolean matches(String configuredName, String currentSchema) {
      return toString().equals(configuredName) || (schema.equals(currentSchema) && name.equals(configuredName));
    }

    /** {@code "schema"."name"}, safe to put into SQL. */
    public String quoted() {
      return Sql.qualified(schema, name);
    }

    @Override
    public String toString() {
      return schema + "." + name;
    }
  }

  /**
   * A table (ordinary or partitioned).
   *
   * @param oid its {@code pg_class} OID
   * @param estimatedRows the planner's estimate ({@code pg_class.reltuples}); -1 if never analysed
   * @param partitioned a partitioned table (its rows live in its partitions)
   * @param partition a partition of another table (keys are declared on the parent)
   * @param extensionMember created by an extension, which owns its definition
   */
  public record Table(long oid, TableName name, long estimatedRows, boolean partitioned, boolean partition,
      boolean extensionMember, List<Column> columns, List<Constraint> constraints, List<Index> indexes)
      implements Relation {
    public Table {
      columns = List.copyOf(columns);
      constraints = List.copyOf(constraints);
      indexes = List.copyOf(indexes);
    }

    @Override
    public Kind kind() {
      return partitioned ? Kind.PARTITIONED_TABLE : Kind.TABLE;
    }

    public Optional<Constraint> primaryKey() {
      return constraints.stream().filter(c -> c.type() == Constraint.Type.PRIMARY_KEY).findFirst();
    }

    public boolean hasPrimaryKey() {
      return primaryKey().isPresent();
    }

    public List<Constraint> constraints(Constraint.Type type) {
      return constraints.stream().filter(c -> c.type() == type).toList();
    }
  }

  /**
   * A view ({@code CREATE VIEW}) or a materialized view.
   *
   * @param oid its {@code pg_class} OID
   */
  public record View(long oid, TableName name, boolean materialized, List<Column> columns) implements Relation {
    public View {
      columns = List.copyOf(columns);
    }

    @Override
    public Kind kind() {
      return materialized ? Kind.MATERIALIZED_VIEW : Kind.VIEW;
    }
  }

  /**
   * A column.
   *
   * @param position its attribute number, from 1; it stays when the column is renamed
   * @param type as SQL writes it ({@code format_type}), e.g. {@code integer}, {@code character varying(20)}
   * @param nullable false when declared {@code NOT NULL}
   * @param hasDefault it has a default (or is a generated column), so an insert that leaves it out still fills it
   */
  public record Column(String name, int position, String type, boolean nullable, boolean hasDefault) {
    /** A column without a default. */
    public Column(String name, int position, String type, boolean nullable) {
      this(name, position, type, nullable, false);
    }
  }

  /**
   * A table constraint.
   *
   * @param columns the constrained columns in key order (empty for a check on an expression, or a constraint trigger)
   * @param definition as {@code pg_get_constraintdef} prints it, e.g. {@code FOREIGN KEY (user_id) REFERENCES "user"(id)};
   *     null in a snapshot read by {@link CatalogSnapshot#readRelations}
   * @param validated false for a constraint added {@code NOT VALID} and not validated since: the rows it had then
   *     were not checked (the definition ends in {@code NOT VALID} too)
   */
  public record Constraint(String name, Type type, List<String> columns, String definition, boolean validated) {
    public Constraint {
      columns = List.copyOf(columns);
    }

    /** A validated constraint. */
    public Constraint(String name, Type type, List<String> columns, String definition) {
      this(name, type, columns, definition, true);
    }

    /**
     * The kinds of constraint read, with their {@code pg_constraint.contype} code. PostgreSQL 18 also keeps
     * {@code NOT NULL} there ({@code n}); that is not read, a column's {@link Column#nullable()} says it.
     */
    public enum Type {
      PRIMARY_KEY('p'), UNIQUE('u'), FOREIGN_KEY('f'), CHECK('c'), EXCLUSION('x'),
      /** {@code CREATE CONSTRAINT TRIGGER}: a trigger that can raise on the rows old code writes. */
      TRIGGER('t');

      private final char code;

      Type(char code) {
        this.code = code;
      }

      public char code() {
        return code;
      }

      public static Type fromCode(char code) {
        for (Type type : values()) {
          if (type.code == code) {
            return type;
          }
        }
        throw new IllegalArgumentException("unknown constraint type '" + code + "'");
      }
    }
  }

  /**
   * An index.
   *
   * @param primary the index behind the primary key
   * @param valid false for an index PostgreSQL does not use, e.g. a failed {@code CREATE INDEX CONCURRENTLY}
   * @param partial it has a {@code WHERE} clause, so it covers only some rows
   * @param expression some key is an expression, not a plain column
   * @param columns the key columns in order (not {@code INCLUDE} columns); an expression key appears as its text
   * @param keys the same keys as SQL: quoted column names, or the expressions as {@code pg_get_indexdef} prints them
   * @param predicate the {@code WHERE} clause of a partial index as SQL, else null
   * @param building a {@code CREATE INDEX CONCURRENTLY} or {@code REINDEX} is building it right now
   */
  public record Index(String name, boolean unique, boolean primary, boolean valid, boolean partial,
      boolean expression, List<String> columns, List<String> keys, String predicate, boolean building) {
    public Index {
      columns = List.copyOf(columns);
      keys = List.copyOf(keys);
    }

    /** A plain index over columns: the keys are the quoted column names. */
    public Index(String name, boolean unique, boolean primary, boolean valid, boolean partial, boolean expression,
        List<String> columns) {
      this(name, unique, primary, valid, partial, expression, columns,
          columns.stream().map(Sql::quoteIdent).toList(), null, false);
    }

    /** A usable unique index on exactly this one plain column, over every row: proof the column has no duplicates. */
    public boolean guaranteesUnique(String column) {
      return unique && valid && !partial && !expression && columns.equals(List.of(column));
    }
  }

  /**
   * A sequence.
   *
   * @param type its data type: {@code smallint}, {@code integer} or {@code bigint}
   * @param lastValue the value {@code nextval} last returned (or {@code setval} set); null if it was never
   *     used since creation or since {@code setval(…, false)}, or if the reader may not see it
   * @param ownedBy the column it belongs to ({@code serial}, identity, {@code OWNED BY}), else null
   */
  public record Sequence(TableName name, String type, long start, long increment, long min, long max, Long lastValue,
      OwnedBy ownedBy) {}

  /**
   * The column a sequence belongs to.
   *
   * @param columnType the column's type as SQL writes it, e.g. {@code integer}
   * @param identity an identity column ({@code GENERATED … AS IDENTITY}) rather than {@code serial}/{@code OWNED BY}
   */
  public record OwnedBy(TableName table, String column, String columnType, boolean identity) {
    @Override
    public String toString() {
      return table + "." + column;
    }
  }

  /**
   * A lock another session holds, or waits for, on a table, with what that session is doing.
   *
   * @param pid the backend, null for a prepared transaction (which holds its locks until committed)
   * @param mode e.g. {@code AccessShareLock}, {@code AccessExclusiveLock}
   * @param granted false while the session waits for it
   * @param transactionStart when its transaction began; null if it is not in one
   * @param state {@code active}, {@code idle in transaction}, …; null for a prepared transaction
   * @param backendType {@code client backend}, {@code autovacuum worker}, …
   * @param query its current or last statement, cut to a few hundred characters
   */
  public record SessionLock(Integer pid, TableName table, String mode, boolean granted, Instant transactionStart,
      String state, String backendType, String query) {
    /** How long its transaction has been open at {@code now}; zero if it is not in one. */
    public Duration transactionAge(Instant now) {
      return transactionStart == null || now == null ? Duration.ZERO : Duration.between(transactionStart, now);
    }
  }

  /**
   * A row of Flyway's history table.
   *
   * @param version null for a repeatable migration
   * @param type {@code SQL}, {@code JDBC}, {@code BASELINE}, {@code SCHEMA}, {@code DELETE}, …
   * @param script the file (or class) it ran
   * @param checksum Flyway's CRC32 of the script, null for entries that have none
   */
  public record HistoryEntry(int installedRank, String version, String description, String type, String script,
      Integer checksum, boolean success) {}
}
