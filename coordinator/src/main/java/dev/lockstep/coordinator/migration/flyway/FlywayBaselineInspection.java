package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.migration.ApplicationTables;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.protocol.BaselineReport;
import dev.lockstep.rules.CatalogSnapshot;
import dev.lockstep.rules.CreatedObjects;
import dev.lockstep.rules.CreatedObjects.Created;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.api.MigrationVersion;

/**
 * What is in a database that Lockstep is asked to adopt: the application's tables (every schema but
 * PostgreSQL's own and {@code lockstep}; Flyway's history table and extensions' tables left out), whether
 * Flyway's history has anything in it, and, for each {@code V…} migration of a set, the objects it would
 * create ({@link CreatedObjects}) and whether each exists already. Reads only; blocks, call on a worker.
 * The one place both {@code lockstep baseline} and the pre-flight finding {@code unadopted-database} ask.
 *
 * <pre>{@code FlywayBaselineInspection.Result found = FlywayBaselineInspection.inspect(connection, set);
 * if (found.unadopted()) { ... found.suggested() ... }}</pre>
 */
public final class FlywayBaselineInspection {
  // One round trip for every object of every migration: what to_regclass & co. say about each name.
  private static final String EXISTS_SQL = """
      SELECT o.i, CASE o.k
          WHEN 'schema' THEN to_regnamespace(o.n) IS NOT NULL
          WHEN 'type' THEN to_regtype(o.n) IS NOT NULL
          WHEN 'domain' THEN to_regtype(o.n) IS NOT NULL
          WHEN 'extension' THEN EXISTS (SELECT 1 FROM pg_extension e WHERE e.extname = o.n)
          WHEN 'column' THEN EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass(o.n)
              AND a.attname = o.m AND a.attnum > 0 AND NOT a.attisdropped)
          WHEN 'constraint' THEN EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = to_regclass(o.n) AND c.conname = o.m)
          ELSE to_regclass(o.n) IS NOT NULL END
        FROM unnest(?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS o(k, n, m, i)""";

  private FlywayBaselineInspection() {}

  /**
   * @param tables the application's tables, {@code schema.name}, ordered
   * @param historyRows how many rows Flyway's history holds (0 when the table does not exist)
   * @param historyVersion the highest version the history applied successfully, or null
   * @param migrations every migration of the set, oldest first, with what it creates
   */
  public record Result(List<String> tables, int historyRows, String historyVersion, List<Migration> migrations) {
    public Result {
      tables = List.copyOf(tables);
      migrations = List.copyOf(migrations);
    }

    /** Tables but no history: migrated by something else (an app's own Alembic, by hand), not adoptable by a release. */
    public boolean unadopted() {
      return historyRows == 0 && !tables.isEmpty();
    }

    /**
     * The highest version up to which every migration creates only objects that exist here; a migration that
     * creates nothing recognisable does not count against it, nor can it be the suggestion. Null if none.
     */
    public String suggested() {
      String suggested = null;
      for (Migration m : migrations) {
        if (m.creates().isEmpty()) {
          continue;
        }
        if (!m.allExist()) {
          break;
        }
        suggested = m.migration().version();
      }
      return suggested;
    }

    /** The report's view of each migration, {@code covered} up to {@code baseline}. */
    public List<BaselineReport.Migration> report(MigrationVersion baseline) {
      return migrations.stream().map(m -> new BaselineReport.Migration(m.migration().version(), m.migration().description(),
          m.migration().script(), m.coveredBy(baseline), m.creates())).toList();
    }

    /** What the operator should look at before recording {@code baseline}, in migration order. */
    public List<String> warnings(MigrationVersion baseline) {
      List<String> warnings = new ArrayList<>();
      for (Migration m : migrations) {
        List<String> missing = m.creates().stream().filter(c -> !c.exists()).map(c -> c.kind() + " " + c.name()).toList();
        List<String> present = m.creates().stream().filter(BaselineReport.Created::exists).map(c -> c.kind() + " " + c.name()).toList();
        if (m.coveredBy(baseline) && m.creates().isEmpty()) {
          warnings.add(m.migration().label() + " creates nothing Lockstep can look for (it may insert or change data):"
              + " check by hand that the database has what it does, since the baseline records it as applied");
        } else if (m.coveredBy(baseline) && !missing.isEmpty()) {
          warnings.add(m.migration().label() + " would create " + String.join(", ", missing) + ", which the database"
              + " does not have: the baseline records it as applied, so it would never run; baseline at a lower version,"
              + " or create them first");
        } else if (!m.coveredBy(baseline) && !present.isEmpty()) {
          warnings.add(m.migration().label() + " would create " + String.join(", ", present) + ", which the database"
              + " has already: the first release after this baseline would fail on it; baseline at its version or"
              + " higher if it was applied");
        }
      }
      return warnings;
    }
  }

  /** One migration of the set and the objects it would create, each with whether it exists. */
  public record Migration(PendingMigration migration, List<BaselineReport.Created> creates) {
    public Migration {
      creates = List.copyOf(creates);
    }

    boolean allExist() {
      return creates.stream().allMatch(BaselineReport.Created::exists);
    }

    boolean coveredBy(MigrationVersion baseline) {
      return MigrationVersion.fromVersion(migration.version()).compareTo(baseline) <= 0;
    }
  }

  /** Reads the catalog once and asks about every object of {@code set}'s migrations in one more query. */
  public static Result inspect(Connection connection, FlywaySet set) throws SQLException {
    CatalogSnapshot snapshot = CatalogSnapshot.read(connection);
    List<String> tables = ApplicationTables.of(snapshot, java.util.Set.of(CatalogSnapshot.FLYWAY_HISTORY));
    MigrationVersion applied = null;
    for (CatalogSnapshot.HistoryEntry e : snapshot.flywayHistory()) {
      if (e.success() && e.version() != null) {
        MigrationVersion v = MigrationVersion.fromVersion(e.version());
        applied = applied == null || v.compareTo(applied) > 0 ? v : applied;
      }
    }
    List<List<Created>> created = set.versioned().stream().map(m -> CreatedObjects.of(m.statements())).toList();
    boolean[] exists = exist(connection, created.stream().flatMap(List::stream).toList());
    List<Migration> migrations = new ArrayList<>();
    int next = 0;
    for (int i = 0; i < created.size(); i++) {
      List<BaselineReport.Created> objects = new ArrayList<>();
      for (Created c : created.get(i)) {
        objects.add(new BaselineReport.Created(c.kind().wireName(), c.written(), exists[next++], c.line()));
      }
      migrations.add(new Migration(set.versioned().get(i), objects));
    }
    return new Result(tables, snapshot.flywayHistory().size(), applied == null ? null : applied.getVersion(), migrations);
  }

  private static boolean[] exist(Connection connection, List<Created> objects) throws SQLException {
    boolean[] exists = new boolean[objects.size()];
    if (objects.isEmpty()) {
      return exists;
    }
    String[] kinds = new String[objects.size()];
    String[] names = new String[objects.size()];
    String[] members = new String[objects.size()];
    for (int i = 0; i < objects.size(); i++) {
      Created c = objects.get(i);
      kinds[i] = c.kind().wireName();
      // An extension and a schema are looked up by name; everything else as SQL would resolve it, search path included.
      names[i] = c.kind() == CreatedObjects.Kind.EXTENSION ? c.name()
          : c.kind() == CreatedObjects.Kind.SCHEMA ? dev.lockstep.rules.Sql.quoteIdent(c.name()) : c.relation();
      members[i] = c.member();
    }
    try (PreparedStatement query = connection.prepareStatement(EXISTS_SQL)) {
      Array k = connection.createArrayOf("text", kinds);
      Array n = connection.createArrayOf("text", names);
      Array m = connection.createArrayOf("text", members);
      query.setArray(1, k);
      query.setArray(2, n);
      query.setArray(3, m);
      try (ResultSet rs = query.executeQuery()) {
        while (rs.next()) {
          exists[rs.getInt(1) - 1] = rs.getBoolean(2);
        }
      }
    }
    return exists;
  }
}
