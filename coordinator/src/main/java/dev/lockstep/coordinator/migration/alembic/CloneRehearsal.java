package dev.lockstep.coordinator.migration.alembic;

import dev.lockstep.coordinator.migration.ScratchClone;
import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.migration.DataLoss;
import dev.lockstep.coordinator.migration.Rehearsed;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.rules.CatalogDiff;
import dev.lockstep.rules.CatalogSnapshot;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The rehearsal of an engine that owns its connection (Alembic): it cannot run inside Lockstep's rolled-back
 * transaction, so it runs on a scratch clone of the schema instead ({@link ScratchClone}: {@code pg_dump
 * --schema-only} into a temporary database on the same server). The repairs that can be rehearsed run there
 * first, then the real {@code alembic upgrade}; the catalogs before and after give the mode decision, and each
 * dropped table or column is counted on the live database for the data-loss guard. The clone is dropped
 * whatever happens. It has no rows, so a failure that depends on data (a data migration, a constraint the rows
 * break) is not rehearsed: {@link #CAVEAT} says so in {@code check} and in the release's findings.
 *
 * <pre>{@code Rehearsed r = new CloneRehearsal(engine, database).run(live, set, plan, repairs);}</pre>
 */
final class CloneRehearsal {
  static final String RULE = "rehearsal-clone";
  static final String CAVEAT = "rehearsed with the real alembic on a schema-only clone of the database (no rows), because"
      + " Alembic owns its connection and cannot run in Lockstep's rolled-back transaction: failures that depend on the"
      + " data (a data migration, a constraint existing rows break) are not rehearsed";

  private final AlembicEngine engine;
  private final DatabaseUrl database;

  CloneRehearsal(AlembicEngine engine, DatabaseUrl database) {
    this.engine = engine;
    this.database = database;
  }

  /** Blocks. {@code live} is only read (the data-loss counts). */
  Rehearsed run(Connection live, MigrationSet set, MigrationPlan plan, List<String> repairs) throws SQLException {
    // Copies a killed coordinator left behind (over an hour old) go first; a rehearsal is the one place that makes them.
    ScratchClone.sweep(database);
    DatabaseUrl url = ScratchClone.newUrl(database);
    // Alembic's Python starts (imports, the revisions read) while the schema is copied: it connects at its first run.
    try (AlembicEngine.Rehearsal alembic = engine.rehearsal(set, url);
         ScratchClone clone = ScratchClone.create(database, url, "the pre-flight rehearsal of "
             + plan.pendingLabels().size() + " Alembic revision(s)");
         Connection c = new Connections(clone.url()).open("lockstep-rehearsal")) {
      try (Statement s = c.createStatement()) {
        Optional<Rehearsed> repairFailed = Rehearsed.repairsFail(s, repairs);
        if (repairFailed.isPresent()) {
          return repairFailed.get();
        }
      }
      CatalogSnapshot before = CatalogSnapshot.readRelations(c);
      return rehearse(live, c, alembic, plan, before);
    }
  }

  /** The runs on the clone (one Python process for all of them), and what the catalog says of each part. */
  private static Rehearsed rehearse(Connection live, Connection c, AlembicEngine.Rehearsal alembic, MigrationPlan plan,
                                    CatalogSnapshot before) throws SQLException {
    AlembicCommand.Result result = alembic.run(plan, plan.steps(), true);
    if (!result.succeeded()) {
      return failed(plan, result, alembic.running());
    }
    CatalogSnapshot after = CatalogSnapshot.readRelations(c);
    CatalogDiff diff = CatalogDiff.between(before, after);
    List<String> effects = new ArrayList<>();
    String what = plan.downgrade() ? "the downgrade to " + plan.target() : "the upgrade to " + plan.target();
    diff.breaking().forEach(b -> effects.add(what + " " + b));
    List<DataLoss> loss = DataLoss.count(live, before, diff.dropped());
    // The contract revisions run after the others, on the schema they left, as CONTRACTING runs them.
    List<String> contractEffects = new ArrayList<>();
    List<DataLoss> contractLoss = List.of();
    if (plan.contractStep().isPresent()) {
      AlembicCommand.Result contract = alembic.run(plan, List.of(plan.contractStep().get()), false);
      if (!contract.succeeded()) {
        return failed(plan, contract, alembic.running());
      }
      CatalogDiff removed = CatalogDiff.between(after, CatalogSnapshot.readRelations(c));
      String contractLabel = "the contract (" + String.join(", ", plan.contract().stream()
          .map(m -> m.version()).toList()) + ")";
      removed.breaking().forEach(b -> contractEffects.add(contractLabel + " " + b));
      contractLoss = DataLoss.count(live, before, removed.dropped());
    }
    return new Rehearsed(null, effects, loss, List.of(), Set.of(), null, null, List.of(), contractEffects,
        contractLoss);
  }

  /** @param step the revision step that was running ({@code upgrade a1 -> b2, msg}), or null */
  private static Rehearsed failed(MigrationPlan plan, AlembicCommand.Result result, String step) {
    String sql = result.failedSql();
    return Rehearsed.failed("rehearsal on a schema-only clone: alembic " + (plan.downgrade() ? "downgrade " : "upgrade ")
        + plan.target() + " would fail" + (step != null ? running(List.of("Running " + step)) : running(result.lines())) + ": " + result.error()
        + (sql == null ? "" : " [SQL: " + (sql.length() > 300 ? sql.substring(0, 300) + "…" : sql) + "]"),
        null, List.of(), Set.of());
  }

  /** " in revision b2c3 (fill display names)", from the last "Running upgrade a -> b, msg" line, or "". */
  private static String running(List<String> lines) {
    for (int i = lines.size() - 1; i >= 0; i--) {
      String line = lines.get(i);
      int at = line.indexOf("Running ");
      int arrow = line.indexOf(" -> ");
      if (at >= 0 && arrow > at) {
        String rest = line.substring(arrow + 4);
        boolean down = line.startsWith("Running downgrade ", at);
        String id = down ? line.substring(at + "Running downgrade ".length(), arrow).trim() : rest.split(",", 2)[0].trim();
        return " in revision " + id + (rest.contains(", ") ? " (" + rest.substring(rest.indexOf(", ") + 2) + ")" : "");
      }
    }
    return "";
  }
}
