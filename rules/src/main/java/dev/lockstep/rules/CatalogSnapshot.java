package dev.lockstep.rules;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * One consistent read of the database catalog: every user table with its columns, constraints and
 * indexes, read in four queries however many tables there are, so that rules look at the same
 * picture and never query the catalog table by table.
 *
 * <p>Tables in {@code pg_catalog}, {@code information_schema}, {@code pg_toast*}, temporary schemas
 * and the coordinator's own schema {@value #COORDINATOR_SCHEMA} are left out. Tables are ordered by
 * schema and name; columns by position; constraints and indexes by name.
 *
 * <pre>{@code
 * CatalogSnapshot snapshot = CatalogSnapshot.read(connection);
 * snapshot.table("public", "user").ifPresent(user -> {
 *   if (!user.hasPrimaryKey()) { ... }
 *   user.column("id").map(Column::nullable);
 * });
 * }</pre>
 *
 * @param tables every table read, with its parts
 */
public record CatalogSnapshot(List<Table> tables) {
  /** The coordinator keeps its own state in this schema; rules leave it alone. */
  public static final String COORDINATOR_SCHEMA = "lockstep";

  public CatalogSnapshot {
    tables = List.copyOf(tables);
  }

  /**
   * Reads the catalog. On an autocommit connection it reads in its own {@code REPEATABLE READ READ ONLY}
   * transaction (and restores the connection's settings); inside a transaction it reads what that
   * transaction sees.
   */
  public static CatalogSnapshot read(Connection connection) throws SQLException {
    return Transactions.readConsistently(connection, () -> new CatalogReader(connection).read());
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
   * A table's schema and name, unquoted. {@link #toString()} is the {@code schema.name} form used in
   * findings and messages; {@link #quoted()} is the form for SQL.
   */
  public record TableName(String schema, String name) {
    public TableName {
      if (schema == null || name == null) {
        throw new IllegalArgumentException("a table needs a schema and a name, got " + schema + "." + name);
      }
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
   * @param estimatedRows the planner's estimate ({@code pg_class.reltuples}); -1 if never analysed
   * @param partitioned a partitioned table (its rows live in its partitions)
   * @param partition a partition of another table (keys are declared on the parent)
   * @param extensionMember created by an extension, which owns its definition
   */
  public record Table(TableName name, long estimatedRows, boolean partitioned, boolean partition,
      boolean extensionMember, List<Column> columns, List<Constraint> constraints, List<Index> indexes) {
    public Table {
      columns = List.copyOf(columns);
      constraints = List.copyOf(constraints);
      indexes = List.copyOf(indexes);
    }

    public Optional<Column> column(String columnName) {
      return columns.stream().filter(column -> column.name().equals(columnName)).findFirst();
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
   * A column.
   *
   * @param position its attribute number, from 1
   * @param type as SQL writes it, e.g. {@code integer}, {@code character varying(20)}
   * @param nullable false when declared {@code NOT NULL}
   */
  public record Column(String name, int position, String type, boolean nullable) {}

  /**
   * A table constraint.
   *
   * @param columns the constrained columns in key order (empty for a check on an expression)
   * @param definition as {@code pg_get_constraintdef} prints it, e.g. {@code FOREIGN KEY (user_id) REFERENCES "user"(id)}
   */
  public record Constraint(String name, Type type, List<String> columns, String definition) {
    public Constraint {
      columns = List.copyOf(columns);
    }

    /** The kinds of constraint read, with their {@code pg_constraint.contype} code. */
    public enum Type {
      PRIMARY_KEY('p'), UNIQUE('u'), FOREIGN_KEY('f'), CHECK('c'), EXCLUSION('x');

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
   */
  public record Index(String name, boolean unique, boolean primary, boolean valid, boolean partial,
      boolean expression, List<String> columns) {
    public Index {
      columns = List.copyOf(columns);
    }

    /** A usable unique index on exactly this one plain column, over every row: proof the column has no duplicates. */
    public boolean guaranteesUnique(String column) {
      return unique && valid && !partial && !expression && columns.equals(List.of(column));
    }
  }
}
