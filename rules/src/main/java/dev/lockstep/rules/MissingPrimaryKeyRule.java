package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.CatalogSnapshot.Column;
import dev.lockstep.rules.CatalogSnapshot.Index;
import dev.lockstep.rules.CatalogSnapshot.Table;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code missing-primary-key}: a table that lost its primary key (a drifted schema) makes later
 * migrations fail, e.g. a foreign key to it: "there is no unique constraint matching given keys for
 * referenced table". The key column is the one declared for the table in configuration
 * ({@link InspectionContext#declaredKeys()}), else the column named {@code id}, or else the single column
 * of a unique index. The rule plans {@code ALTER TABLE … ADD PRIMARY KEY (column)} only when that column
 * holds no NULLs and no duplicates (finding {@code warn}); otherwise the key cannot be restored without
 * losing or inventing data, so it blocks with the counts and sample duplicates. A table with no
 * identifiable key column gets an {@code info} finding and no repair.
 *
 * <p>Partitions (their key belongs on the parent), tables owned by an extension and Flyway's
 * {@value CatalogSnapshot#FLYWAY_HISTORY} are not considered. A partitioned table without a key only gets an
 * {@code info} finding, as its key would have to include the partition key.
 *
 * <pre>{@code
 * List<Finding> findings = new MissingPrimaryKeyRule().inspect(CatalogSnapshot.read(connection), connection,
 *     InspectionContext.empty().withDeclaredKeys(Map.of("public.legacy", "code")));
 * // [Finding[rule=missing-primary-key, severity=WARN, object=public.user,
 * //   message=table public.user has no primary key; column id is unique and not null, so the key will be restored,
 * //   repair=[ALTER TABLE "public"."user" ADD PRIMARY KEY ("id")]]]
 * }</pre>
 */
public final class MissingPrimaryKeyRule implements Rule {
  public static final String ID = "missing-primary-key";
  private static final String KEY_NAME = "id";

  @Override
  public String id() {
    return ID;
  }

  @Override
  public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection) throws SQLException {
    return inspect(snapshot, connection, InspectionContext.empty());
  }

  @Override
  public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection, InspectionContext context) {
    List<Finding> findings = new ArrayList<>();
    for (Table table : snapshot.tables()) {
      if (considered(table)) {
        findings.add(inspect(table, declaredKey(table, snapshot, context), connection));
      }
    }
    return findings;
  }

  private static boolean considered(Table table) {
    return !table.hasPrimaryKey() && !table.partition() && !table.extensionMember()
        && !CatalogSnapshot.FLYWAY_HISTORY.equals(table.name().name());
  }

  /** The key column configuration declares for the table, or null. */
  private static String declaredKey(Table table, CatalogSnapshot snapshot, InspectionContext context) {
    for (var entry : context.declaredKeys().entrySet()) {
      if (table.name().matches(entry.getKey(), snapshot.currentSchema())) {
        return entry.getValue();
      }
    }
    return null;
  }

  private Finding inspect(Table table, String declared, Connection connection) {
    if (table.partitioned()) {
      // Its key must include the partition key, which a one-column repair cannot promise.
      return finding(table, Severity.INFO, "partitioned table " + table.name() + " has no primary key; a key on a"
          + " partitioned table must include the partition key, so add it in a migration", List.of());
    }
    if (declared != null && table.column(declared).isEmpty()) {
      // The operator said which column is the key; guessing another one instead would go against that.
      return finding(table, Severity.BLOCK, "table " + table.name() + " has no primary key, and the key column"
          + " declared for it, " + declared + ", does not exist (columns: " + table.columns().stream()
          .map(Column::name).collect(Collectors.joining(", ")) + "); correct the declared key, then run the release"
          + " again", List.of());
    }
    List<Column> candidates = declared != null ? List.of(table.column(declared).get()) : keyCandidates(table);
    if (candidates.isEmpty()) {
      return finding(table, Severity.INFO, "table " + table.name() + " has no primary key, and no column could be"
          + " one (none is named " + KEY_NAME + ", no unique index has a single column); add a primary key in a"
          + " migration if other tables are to reference it", List.of());
    }
    if (candidates.size() > 1) {
      return finding(table, Severity.INFO, "table " + table.name() + " has no primary key; columns "
          + names(candidates) + " each have a unique index, so which should be the key is a choice, not a"
          + " repair; add the primary key in a migration", List.of());
    }
    Column key = candidates.get(0);
    KeyColumnData data;
    try {
      data = Transactions.undone(connection, () -> KeyColumnData.measure(table, key, connection));
    } catch (SQLException e) {
      return finding(table, Severity.BLOCK, "table " + table.name() + " has no primary key, and column " + key.name()
          + " could not be checked: " + e.getMessage() + "; add the primary key in a migration, then run the"
          + " release again", List.of());
    }
    if (data.clean()) {
      return finding(table, Severity.WARN, "table " + table.name() + " has no primary key; column " + key.name()
          + " is unique and not null, so the key will be restored",
          List.of("ALTER TABLE " + table.name().quoted() + " ADD PRIMARY KEY (" + Sql.quoteIdent(key.name()) + ")"));
    }
    return finding(table, Severity.BLOCK, "table " + table.name() + " has no primary key, and column " + key.name()
        + " cannot become one: " + data.describe() + "; " + data.remedy() + ", then run the release again", List.of());
  }

  /**
   * The column named {@code id} (exactly, else in any case if only one matches), or else the columns
   * that alone form a unique index over all rows. A unique index counts even if invalid: it still says
   * which column was meant to be the key, and the data check decides whether it can be.
   */
  private static List<Column> keyCandidates(Table table) {
    if (table.column(KEY_NAME).isPresent()) {
      return List.of(table.column(KEY_NAME).get());
    }
    List<Column> named = table.columns().stream().filter(c -> c.name().equalsIgnoreCase(KEY_NAME)).toList();
    if (named.size() == 1) {
      return named;
    }
    Set<String> indexed = new LinkedHashSet<>();
    for (Index index : table.indexes()) {
      if (index.unique() && !index.partial() && !index.expression() && index.columns().size() == 1) {
        indexed.add(index.columns().get(0));
      }
    }
    return table.columns().stream().filter(column -> indexed.contains(column.name())).toList();
  }

  private Finding finding(Table table, Severity severity, String message, List<String> repair) {
    return new Finding(ID, severity, table.name().toString(), message, repair);
  }

  private static String names(List<Column> columns) {
    List<String> names = columns.stream().map(Column::name).toList();
    return String.join(", ", names.subList(0, names.size() - 1)) + " and " + names.get(names.size() - 1);
  }

  /** What the data says about the would-be key column: NULLs, and values that occur more than once. */
  record KeyColumnData(long nulls, long duplicated, List<String> samples) {
    /**
     * Counts in the table, skipping what the catalog already proves: a {@code NOT NULL} column has no
     * NULLs, and a valid unique index on the column alone rules out duplicates, so a well-kept table
     * costs no scan at all.
     */
    static KeyColumnData measure(Table table, Column key, Connection connection) throws SQLException {
      String column = Sql.quoteIdent(key.name());
      String from = " from " + table.name().quoted();
      boolean provenUnique = table.indexes().stream().anyMatch(index -> index.guaranteesUnique(key.name()));
      long nulls = 0;
      long duplicated = 0;
      List<String> samples = List.of();
      try (Statement statement = connection.createStatement()) {
        if (key.nullable()) {
          try (ResultSet rows = statement.executeQuery("select count(*)" + from + " where " + column + " is null")) {
            rows.next();
            nulls = rows.getLong(1);
          }
        }
        if (!provenUnique) {
          String duplicates = "select " + column + " as value" + from + " where " + column + " is not null"
              + " group by " + column + " having count(*) > 1";
          try (ResultSet rows = statement.executeQuery("with duplicated as (" + duplicates + ")"
              + " select (select count(*) from duplicated),"
              // d.value, not value: a bare name in ORDER BY would pick the text output column and sort 12 before 7.
              + " array(select d.value::text from duplicated d order by d.value"
              + " limit " + DuplicateSamples.LIMIT + ")")) {
            rows.next();
            duplicated = rows.getLong(1);
            samples = DuplicateSamples.read(rows.getArray(2));
          }
        }
      }
      return new KeyColumnData(nulls, duplicated, samples);
    }

    boolean clean() {
      return nulls == 0 && duplicated == 0;
    }

    /** e.g. {@code 2 NULLs, 3 duplicated values (e.g. 7, 9, 12)}. */
    String describe() {
      String text = count(nulls, "NULL", "NULLs") + ", " + count(duplicated, "duplicated value", "duplicated values");
      if (!samples.isEmpty()) {
        text += " (e.g. " + String.join(", ", samples) + ")";
      }
      return text;
    }

    String remedy() {
      if (nulls > 0 && duplicated > 0) {
        return "remove the duplicates and fill or remove the NULLs";
      }
      return duplicated > 0 ? "remove the duplicates" : "fill or remove the NULLs";
    }

    private static String count(long n, String one, String many) {
      return n + " " + (n == 1 ? one : many);
    }
  }
}
