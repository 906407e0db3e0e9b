package dev.lockstep.coordinator.preflight;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.coordinator.release.ReleaseDeps;
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
      var plan = deps.migrations().plan(request.schema());
      try (Connection c = deps.connections().open("lockstep-check/" + service)) {
        PreflightReport report = deps.preflight().run(c, plan, request.options());
        return new CheckReport(service, plan.current(), plan.target(), plan.pendingLabels(), report.findings(),
            report.repairs(), report.mode().mode(), report.mode().reason(), report.blocked(),
            report.blocked() ? report.blockingReason() : null, (System.nanoTime() - started) / 1_000_000);
      }
    }, false);
  }

  public Future<MigrationHistory> history() {
    String service = deps.config().service();
    return deps.worker().executeBlocking(() -> deps.migrations().history(service), false)
        .compose(history -> deps.store().repairs(service).map(repairs ->
            new MigrationHistory(history.service(), history.current(), history.applied(), history.pending(), repairs)));
  }
}
