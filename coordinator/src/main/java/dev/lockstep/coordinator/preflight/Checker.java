package dev.lockstep.coordinator.preflight;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.store.BaselineStore;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.MigrationsDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import dev.lockstep.protocol.CheckReport;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.protocol.ReleaseRequest;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.sql.Connection;

/**
 * {@code lockstep check} and {@code lockstep history}: the same planning and pre-flight a release
 * runs, without a release, a lock or any change to the database.
 */
public final class Checker {
  private final String service;
  private final MigrationEngine migrations;
  private final Preflight preflight;
  private final Connections connections;
  private final ReleaseStore store;
  private final MigrationSetStore sets;
  private final WorkerExecutor inspection;

  /**
   * @param inspection the worker pool of checks and history: not the migrations', so a check never
   *     queues behind a running migration
   */
  public Checker(String service, MigrationEngine migrations, Preflight preflight, Connections connections, ReleaseStore store,
                 MigrationSetStore sets, WorkerExecutor inspection) {
    this.service = service;
    this.migrations = migrations;
    this.preflight = preflight;
    this.connections = connections;
    this.store = store;
    this.sets = sets;
    this.inspection = inspection;
  }

  public Future<CheckReport> check(ReleaseRequest request) {
    if (request.service() != null && !request.service().equals(service)) {
      return Future.failedFuture(new LockstepException(LockstepException.Code.UNPROCESSABLE,
          "this coordinator manages service " + service + ", not " + request.service()));
    }
    long started = System.nanoTime();
    return inspection.executeBlocking(() -> {
      // The same set a release of this request would carry: uploaded, else the folder. Nothing is stored.
      MigrationSet set = migrations.carried(request.migrations());
      var plan = migrations.plan(set, request.schema());
      try (Connection c = connections.open("lockstep-check/" + service)) {
        PreflightReport report = preflight.run(c, set, plan, request.options());
        return new CheckReport(service, plan.current(), plan.target(), plan.pendingLabels(), report.findings(),
            report.repairs(), report.mode().mode(), report.mode().reason(), report.blocked(),
            report.blocked() ? report.blockingReason() : null, (System.nanoTime() - started) / 1_000_000,
            plan.contract().stream().map(m -> m.label()).toList(), report.contract(), report.locks());
      }
    }, false);
  }

  /**
   * The migration tool's history, each applied migration attributed to the release that applied it and the digest of
   * that release's set, with the baseline that adopted the database, if one did. Pending migrations are those of the coordinator's folder, or, without a folder,
   * of the set the latest release carried.
   */
  public Future<MigrationHistory> history(String requestedService) {
    if (requestedService != null && !requestedService.equals(service)) {
      return Future.failedFuture(new LockstepException(LockstepException.Code.UNPROCESSABLE,
          "this coordinator manages service " + service + ", not " + requestedService));
    }
    Future<MigrationSet> compared = migrations.hasFolder()
        ? inspection.executeBlocking(() -> migrations.folderSet(), false)
        : store.latestMigrationsDigest(service).compose(digest -> digest
            .map(d -> sets.load(d, "latest").map(set -> set.from("the set " + MigrationsDigest.shortForm(d)
                + " of the latest release")))
            .orElseGet(() -> Future.succeededFuture(MigrationSet.empty("no set (no --migrations folder, no release yet)"))));
    return compared
        .compose(set -> inspection.executeBlocking(() -> {
          MigrationHistory tool = migrations.history(set, service);
          try (Connection c = connections.open("lockstep-history/" + service)) {
            return tool.withBaseline(BaselineStore.latest(c, service).orElse(null));
          }
        }, false))
        .compose(history -> Future.all(store.repairs(service), store.appliedBy(service)).map(both -> {
          // Keyed as the engine compares versions, so Flyway's history "1.0" finds a release's "1".
          Map<String, ReleaseStore.AppliedBy> by = new HashMap<>();
          Map<String, ReleaseStore.AppliedBy> fromReleases = both.resultAt(1);
          fromReleases.forEach((v, a) -> migrations.historyKey(v).ifPresent(key -> by.put(key, a)));
          List<MigrationHistory.Entry> applied = history.applied().stream().map(e -> {
            ReleaseStore.AppliedBy a = migrations.historyKey(e.version()).map(by::get).orElse(null);
            return a == null ? e : e.appliedBy(a.releaseId(), a.migrationsDigest(), a.coordinator(), a.requestedBy());
          }).toList();
          return new MigrationHistory(history.service(), history.current(), applied, history.pending(),
              both.resultAt(0), history.pendingFrom(), history.baseline());
        }));
  }

}
