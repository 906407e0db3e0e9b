package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.protocol.ContractStatus;
import java.util.List;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;

/**
 * PLANNED: under the lock, what is pending from the schema the database is at now, and which of it is the contract
 * (run after the switch). Then PREFLIGHT.
 */
public final class Planning implements PhaseStep {
  private final MigrationEngine migrations;
  private final WorkerExecutor worker;

  public Planning(MigrationEngine migrations, WorkerExecutor worker) {
    this.migrations = migrations;
    this.worker = worker;
  }

  @Override
  public Future<ReleaseDocument> run(ReleaseDocument stored, Attempt attempt) {
    return worker.executeBlocking(() -> migrations.plan(attempt.set(), stored.schema()), true).compose(plan -> {
      List<String> contract = plan.contract().stream().map(PendingMigration::label).toList();
      ReleaseDocument planned = stored.toBuilder().schema(plan.target()).fromSchema(plan.current())
          .pending(plan.pendingLabels()).contract(ContractStatus.waiting(contract)).build();
      String what = plan.pending().isEmpty() ? "no pending migrations"
          : plan.pending().size() + " pending migration(s): " + String.join(", ", plan.pendingLabels())
              + (contract.isEmpty() ? "" : "; the contract, after the switch: " + String.join(", ", contract));
      return attempt.journal().write(planned, "PLANNED: lock and fence taken (epoch " + attempt.epoch() + "); schema "
              + Releases.orNone(plan.current()) + " → " + plan.target() + "; " + what)
          .compose(doc -> attempt.journal().write(doc.toBuilder().phase(Phase.PREFLIGHT).build(),
              "PREFLIGHT: inspecting the database and rehearsing " + plan.pending().size() + " migration(s) "
                  + migrations.rehearsal()));
    });
  }
}
