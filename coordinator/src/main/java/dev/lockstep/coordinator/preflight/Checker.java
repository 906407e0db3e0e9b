package dev.lockstep.coordinator.preflight;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.coordinator.migration.MigrationSet;
import dev.lockstep.coordinator.release.ReleaseDeps;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.MigrationsDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.api.MigrationVersion;
import dev.lockstep.protocol.CheckReport;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.protocol.ReleaseRequest;
import io.vertx.core.Future;
import java.sql.Connection;

/**
 * {@code lockstep check} and {@code lockstep history}: the same planning and pre-flight a release
 * runs, without a release, a lock or any change to the database.
 */
public final class Checker {
  private final ReleaseDeps deps;

  public Checker(ReleaseDeps deps) {
    this.deps = deps;
  }

  public Future<CheckReport> check(ReleaseRequest request) {
    String service = deps.config().service();
    if (request.service() != null && !request.service().equals(service)) {
      return Future.failedFuture(new LockstepException(LockstepException.Code.UNPROCESSABLE,
          "this coordinator manages service " + service + ", not " + request.service()));
    }
    long started = System.nanoTime();
    return deps.worker().executeBlocking(() -> {
      // The same set a release of this request would carry: uploaded, else the folder. Nothing is stored.
      MigrationSet set = deps.migrations().carried(request.migrations());
      var plan = deps.migrations().plan(set, request.schema());
      try (Connection c = deps.connections().open("lockstep-check/" + service)) {
        PreflightReport report = deps.preflight().run(c, set, plan, request.options());
        return new CheckReport(service, plan.current(), plan.target(), plan.pendingLabels(), report.findings(),
            report.repairs(), report.mode().mode(), report.mode().reason(), report.blocked(),
            report.blocked() ? report.blockingReason() : null, (System.nanoTime() - started) / 1_000_000);
      }
    }, false);
  }

  /**
   * Flyway's history, each applied migration attributed to the release that applied it and the digest of
   * that release's set. Pending migrations are those of the coordinator's folder, or, without a folder,
   * of the set the latest release carried.
   */
  public Future<MigrationHistory> history() {
    String service = deps.config().service();
    Future<MigrationSet> compared = deps.migrations().hasFolder()
        ? deps.worker().executeBlocking(() -> deps.migrations().folderSet(), false)
        : deps.store().latestMigrationsDigest(service).compose(digest -> digest
            .map(d -> deps.sets().load(d, "latest").map(set -> set.from("the set " + MigrationsDigest.shortForm(d)
                + " of the latest release")))
            .orElseGet(() -> Future.succeededFuture(MigrationSet.empty("no set (no --migrations folder, no release yet)"))));
    return compared
        .compose(set -> deps.worker().executeBlocking(() -> deps.migrations().history(set, service), false))
        .compose(history -> Future.all(deps.store().repairs(service), deps.store().appliedBy(service)).map(both -> {
          // Keyed by Flyway's version, so the history's "1.0" finds a release's "1".
          Map<MigrationVersion, ReleaseStore.AppliedBy> by = new HashMap<>();
          Map<String, ReleaseStore.AppliedBy> fromReleases = both.resultAt(1);
          fromReleases.forEach((v, a) -> version(v).ifPresent(key -> by.put(key, a)));
          List<MigrationHistory.Entry> applied = history.applied().stream().map(e -> {
            ReleaseStore.AppliedBy a = version(e.version()).map(by::get).orElse(null);
            return a == null ? e : e.appliedBy(a.releaseId(), a.migrationsDigest());
          }).toList();
          return new MigrationHistory(history.service(), history.current(), applied, history.pending(),
              both.resultAt(0), history.pendingFrom());
        }));
  }

  private static java.util.Optional<MigrationVersion> version(String text) {
    try {
      return text == null ? java.util.Optional.empty() : java.util.Optional.of(MigrationVersion.fromVersion(text));
    } catch (RuntimeException e) {
      return java.util.Optional.empty(); // not a version Flyway reads (a baseline's "<< Flyway Baseline >>"): nothing to attribute
    }
  }
}
