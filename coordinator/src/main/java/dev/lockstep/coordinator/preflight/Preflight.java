package dev.lockstep.coordinator.preflight;

import dev.lockstep.coordinator.migration.DataLoss;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.migration.Rehearsed;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.ReleaseOptions;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.BlockingSessionsRule;
import dev.lockstep.rules.CatalogSnapshot;
import dev.lockstep.rules.Inspection;
import dev.lockstep.rules.InspectionContext;
import dev.lockstep.rules.Repairs;
import dev.lockstep.rules.RuleEngine;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * PREFLIGHT, and {@code lockstep check}: rules inspect the database and plan repairs; the repairs and the pending
 * migrations are rehearsed where nothing stays; the mode is chosen from what the rehearsal saw. Changes nothing.
 * What depends on the migration tool — its findings, whether the database was migrated without it, how to rehearse —
 * is the engine's ({@link MigrationEngine}). Blocks (as findings) when a rule blocks, the database has tables but no
 * history of the tool (baseline it first), the rehearsal fails, a drop would lose data without {@code allowDataLoss},
 * or {@code online} is forced over a destructive change without {@code allowDestructive}.
 *
 * <pre>{@code PreflightReport report = preflight.run(connection, set, plan, doc.options());}</pre>
 */
public final class Preflight {
  private final RuleEngine rules;
  private final InspectionContext context;
  private final MigrationEngine engine;

  /**
   * @param context what the rules need beyond the catalog (declared key columns); the release's
   *     migration set (for Flyway checksums) and the tables the migrations lock are added per run
   * @param engine what the migration tool says before anything runs: findings, adoption, the rehearsal
   */
  public Preflight(RuleEngine rules, InspectionContext context, MigrationEngine engine) {
    this.rules = rules;
    this.context = context;
    this.engine = engine;
  }

  /**
   * Blocks; call on a worker. Leaves {@code connection} rolled back, in autocommit.
   *
   * @param set the migration set the release carries, which {@code plan} was made from
   */
  public PreflightReport run(Connection connection, MigrationSet set, MigrationPlan plan, ReleaseOptions options)
      throws SQLException {
    // The failed-migration rule compares Flyway's history with the files the release carries, in memory.
    return run(connection, set, context.withMigrationFiles(set.origin(), set.files()), plan, options);
  }

  private PreflightReport run(Connection connection, MigrationSet set, InspectionContext context, MigrationPlan plan,
                              ReleaseOptions options) throws SQLException {
    connection.setAutoCommit(false);
    try {
      Inspection inspection = rules.inspect(connection, context);
      List<Finding> findings = new ArrayList<>(inspection.findings());
      engine.adoption(connection, set, plan).ifPresent(findings::add);
      List<String> repairs = inspection.repairs();
      List<String> rehearsable = Repairs.rehearsable(inspection.findings()).stream()
          .flatMap(f -> f.repair().stream()).toList();
      findings.addAll(engine.findings(plan));
      if (inspection.blocked() || findings.stream().anyMatch(Finding::blocks)) {
        return new PreflightReport(findings, repairs,
            new ModeDecision(options.mode() == Mode.AUTO ? Mode.MAINTENANCE : options.mode(), "not decided: pre-flight blocked"),
            false);
      }
      Rehearsed rehearsal = engine.rehearse(connection, set, plan, rehearsable);
      findings.addAll(rehearsal.notes());
      findings.addAll(LockFindings.of(rehearsal.locks()));
      if (!rehearsal.tablesLocked().isEmpty()) {
        // Now that the rehearsal showed which tables the release locks, look for sessions in its way.
        findings.removeIf(f -> f.rule().equals(BlockingSessionsRule.ID));
        findings.addAll(new BlockingSessionsRule().inspect(CatalogSnapshot.read(connection), connection,
            context.withTablesTouched(rehearsal.tablesLocked())));
        connection.rollback();
      }
      if (rehearsal.blocking() != null) {
        findings.add(rehearsal.blocking());
      } else if (rehearsal.failure() != null) {
        boolean lock = rehearsal.failure().contains("lock_timeout");
        findings.add(new Finding("rehearsal", Severity.BLOCK, "migrations", rehearsal.failure() + "; nothing was changed: "
            + (lock ? "end or wait out the sessions named by blocking-sessions, then release again"
                : "fix the migration (or the data it trips on) and release again"), List.of()));
      }
      for (DataLoss loss : rehearsal.dataLoss()) {
        findings.add(new Finding("data-loss", options.allowDataLoss() ? Severity.WARN : Severity.BLOCK,
            loss.object(), "the release would drop " + loss.describe()
                + (options.allowDataLoss() ? "; allowed by --allow-data-loss" : "; pass --allow-data-loss if that is intended"),
            List.of()));
      }
      // What the contract removes is what it is for: it runs after the switch, once no server runs code that reads it,
      // so it warns with the data it drops instead of blocking, and does not make the release maintenance.
      List<String> contract = new ArrayList<>(rehearsal.contractEffects());
      for (DataLoss loss : rehearsal.contractDataLoss()) {
        // "V3 (drop legacy name) drops column public.users.legacy_name (1204 non-NULL value(s))"
        String counted = loss.count() + (loss.column() ? " non-NULL value(s)" : " row(s)");
        int at = java.util.stream.IntStream.range(0, contract.size()).filter(i -> contract.get(i).endsWith(loss.object()))
            .findFirst().orElse(-1);
        if (at >= 0) {
          contract.set(at, contract.get(at) + " (" + counted + ")");
        } else {
          contract.add("drops " + loss.object() + " (" + counted + ")");
        }
        findings.add(new Finding(CONTRACT_DATA_LOSS, Severity.WARN, loss.object(), "the contract drops " + loss.describe()
            + " after the switch, once no server runs code that reads it", List.of()));
      }
      if (!plan.contract().isEmpty()) {
        findings.add(new Finding(CONTRACT, Severity.INFO, "migrations", plan.contract().size() + " contract migration(s) ("
            + String.join(", ", plan.contract().stream().map(PendingMigration::label).toList()) + ") run after the switch,"
            + " once every server runs the release's revision" + (contract.isEmpty() ? "" : ": "
            + String.join("; ", contract)), List.of()));
      }
      List<String> effects = new ArrayList<>(rehearsal.effects());
      // What was not rehearsed is assumed to be the worst: conservative, and said.
      for (PendingMigration m : rehearsal.notRehearsed()) {
        effects.add(m.label() + (!m.transactional() ? " cannot run in a transaction and was not rehearsed"
            : " follows a non-transactional migration and was not rehearsed"));
      }
      ModeDecision mode = decide(options, effects, !plan.contract().isEmpty());
      if (options.mode() == Mode.ONLINE && !rehearsal.effects().isEmpty() && !options.allowDestructive()) {
        findings.add(new Finding("destructive-online", Severity.BLOCK, "mode", "mode online was requested, but "
            + String.join("; ", rehearsal.effects()) + ": old servers would break while they keep serving; use --mode"
            + " maintenance, or pass --allow-destructive to force online", List.of()));
      }
      return new PreflightReport(findings, repairs, mode, rehearsal.failure() == null, contract, rehearsal.locks());
    } finally {
      connection.rollback();
      connection.setAutoCommit(true);
    }
  }

  /** The findings of a release's contract: what runs after the switch, and the data it drops (a warning). */
  public static final String CONTRACT = "contract";
  public static final String CONTRACT_DATA_LOSS = "contract-data-loss";

  /** @param contract whether the release has contract migrations, whose removals wait until the old code is gone */
  static ModeDecision decide(ReleaseOptions options, List<String> effects, boolean contract) {
    return switch (options.mode()) {
      case MAINTENANCE -> new ModeDecision(Mode.MAINTENANCE, "requested by the operator");
      case ONLINE -> new ModeDecision(Mode.ONLINE, effects.isEmpty() ? "requested by the operator"
          : "requested by the operator, although " + String.join("; ", effects));
      case AUTO -> effects.isEmpty()
          ? new ModeDecision(Mode.ONLINE, contract
              ? "the rehearsal shows the migrations before the switch only add; old code keeps serving until the switch,"
                  + " and the contract's removals wait until no server runs it"
              : "the rehearsal shows the migrations only add; old code keeps serving until the switch")
          : new ModeDecision(Mode.MAINTENANCE, String.join("; ", effects));
    };
  }
}
