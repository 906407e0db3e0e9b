package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.CatalogSnapshot.Index;
import dev.lockstep.rules.CatalogSnapshot.Table;
import dev.lockstep.rules.CatalogSnapshot.TableName;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * {@code invalid-index}: an index that a failed {@code CREATE INDEX CONCURRENTLY} (or {@code REINDEX
 * CONCURRENTLY}) left invalid. PostgreSQL keeps maintaining it on every write but never uses it, and a
 * unique one enforces nothing; a later migration that expects it (a foreign key, {@code ADD CONSTRAINT
 * … USING INDEX}) fails.
 *
 * <p>The repair rebuilds it with {@code REINDEX INDEX CONCURRENTLY}, finding {@code warn}; that cannot run
 * in a transaction, so the engine applies it apart ({@link RuleEngine#applyOutsideTransaction}). The rule
 * first checks that the rebuild would succeed, reading the table once: for a unique index it counts the
 * duplicated keys, for an index on expressions it evaluates them on every row. If the rebuild would fail,
 * it blocks with the counts and sample keys, or the error. Leftovers of a failed {@code REINDEX
 * CONCURRENTLY} ({@code …_ccnew}, {@code …_ccold} beside the index they were for) are dropped instead, as
 * PostgreSQL's documentation advises. An index being built right now, or one on a partitioned table
 * (valid only once every partition's index is attached), is only reported.
 *
 * <pre>{@code
 * new InvalidIndexRule().inspect(CatalogSnapshot.read(connection), connection);
 * // [Finding[rule=invalid-index, severity=WARN, object=public.user_email, message=index public.user_email on
 * //   public.user is invalid …, repair=[REINDEX INDEX CONCURRENTLY "public"."user_email"]]]
 * }</pre>
 */
public final class InvalidIndexRule implements Rule {
  public static final String ID = "invalid-index";
  private static final Pattern LEFTOVER = Pattern.compile("(.+)_cc(new|old)[0-9]*");

  @Override
  public String id() {
    return ID;
  }

  @Override
  public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection) {
    List<Finding> findings = new ArrayList<>();
    for (Table table : snapshot.tables()) {
      for (Index index : table.indexes()) {
        if (!index.valid()) {
          findings.add(inspect(table, index, connection));
        }
      }
    }
    return findings;
  }

  private Finding inspect(Table table, Index index, Connection connection) {
    TableName name = new TableName(table.name().schema(), index.name());
    String invalid = "index " + name + " on " + table.name() + " is invalid";
    if (index.building()) {
      return finding(name, Severity.INFO, invalid + " because it is being built right now (CREATE INDEX CONCURRENTLY"
          + " or REINDEX in progress); if the build fails, the next check plans its repair", List.of());
    }
    if (table.partitioned()) {
      return finding(name, Severity.INFO, invalid + ": an index on a partitioned table is valid once every partition"
          + " has a matching index attached; create the missing ones and ALTER INDEX " + name + " ATTACH PARTITION"
          + " them in a migration", List.of());
    }
    Matcher leftover = LEFTOVER.matcher(index.name());
    if (leftover.matches() && table.indexes().stream().anyMatch(other -> other.name().equals(leftover.group(1)))) {
      return finding(name, Severity.WARN, invalid + ", a leftover of a failed REINDEX CONCURRENTLY of "
          + leftover.group(1) + "; it will be dropped (outside the release's transaction)",
          List.of("DROP INDEX CONCURRENTLY " + name.quoted()));
    }
    String problem;
    try {
      problem = Transactions.undone(connection, () -> RebuildCheck.run(table, index, name, connection));
    } catch (SQLException e) {
      return finding(name, Severity.BLOCK, invalid + ", and rebuilding it would fail: " + e.getMessage()
          + "; correct the rows it fails on, or drop the index in a migration, then run the release again", List.of());
    }
    if (problem != null) {
      return finding(name, Severity.BLOCK, invalid + ", and rebuilding it would fail: " + problem + "; remove the"
          + " duplicates, or drop the index in a migration, then run the release again", List.of());
    }
    return finding(name, Severity.WARN, invalid + ", left by a failed concurrent build: it slows every write and is"
        + " never used" + (index.unique() ? ", and enforces nothing" : "") + "; it will be rebuilt with REINDEX"
        + " CONCURRENTLY (outside the release's transaction)", List.of("REINDEX INDEX CONCURRENTLY " + name.quoted()));
  }

  private Finding finding(TableName index, Severity severity, String message, List<String> repair) {
    return new Finding(ID, severity, index.toString(), message, repair);
  }

  /** Reads the table the way a rebuild would, without building anything. */
  static final class RebuildCheck {
    private RebuildCheck() {}

    /**
     * Null if the index can be rebuilt, else what stops it (duplicates); an SQLException when computing
     * its keys fails, as the build would.
     */
    static String run(Table table, Index index, TableName name, Connection connection) throws SQLException {
      if (index.unique()) {
        return duplicates(table, index, name, connection);
      }
      if (index.expression() || index.partial()) {
        evaluate(table, index, connection);
      }
      return null;
    }

    /** Evaluates every key expression and the predicate on every row; an error is the build's error. */
    private static void evaluate(Table table, Index index, Connection connection) throws SQLException {
      String sql = "select count(*) from " + table.name().quoted() + " where "
          + (index.predicate() == null ? "" : "(" + index.predicate() + ") and ")
          + "num_nulls(" + String.join(", ", index.keys()) + ") >= 0";
      try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(sql)) {
        rows.next();
      }
    }

    private static String duplicates(Table table, Index index, TableName name, Connection connection)
        throws SQLException {
      List<String> keys = index.keys();
      List<String> select = new ArrayList<>();
      List<String> conditions = new ArrayList<>();
      List<String> aliases = new ArrayList<>();
      for (int i = 0; i < keys.size(); i++) {
        select.add("(" + keys.get(i) + ") as k" + i);
        aliases.add("d.k" + i);
        conditions.add("(" + keys.get(i) + ") is not null");
      }
      if (index.predicate() != null) {
        conditions.add("(" + index.predicate() + ")");
      }
      if (nullsNotDistinct(name, connection)) {
        conditions.removeIf(condition -> condition.endsWith(" is not null"));
      }
      String sample = aliases.size() == 1 ? "coalesce(d.k0::text, 'NULL')"
          : "'(' || concat_ws(', ', " + String.join(", ", aliases.stream()
              .map(alias -> "coalesce(" + alias + "::text, 'NULL')").toList()) + ") || ')'";
      String groupBy = String.join(", ", IntStream.rangeClosed(1, keys.size()).mapToObj(Integer::toString).toList());
      String duplicated = "select " + String.join(", ", select) + " from " + table.name().quoted()
          + (conditions.isEmpty() ? "" : " where " + String.join(" and ", conditions))
          + " group by " + groupBy + " having count(*) > 1";
      String sql = "with duplicated as (" + duplicated + ") select (select count(*) from duplicated),"
          + " array(select " + sample + " from duplicated d order by " + String.join(", ", aliases)
          + " limit " + DuplicateSamples.LIMIT + ")";
      try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(sql)) {
        rows.next();
        long count = rows.getLong(1);
        if (count == 0) {
          return null;
        }
        return "unique index over " + count + (count == 1 ? " duplicated key" : " duplicated keys") + " (e.g. "
            + String.join(", ", DuplicateSamples.read(rows.getArray(2))) + ")";
      }
    }

    /** {@code UNIQUE NULLS NOT DISTINCT} (PostgreSQL 15): NULL keys collide too. Asked only of invalid unique indexes. */
    private static boolean nullsNotDistinct(TableName name, Connection connection) throws SQLException {
      String sql = "select pg_get_indexdef(" + Sql.quoteLiteral(name.quoted()) + "::regclass) like '% NULLS NOT DISTINCT%'";
      try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(sql)) {
        rows.next();
        return rows.getBoolean(1);
      }
    }
  }
}
