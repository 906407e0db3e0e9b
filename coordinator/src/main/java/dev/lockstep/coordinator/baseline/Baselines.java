package dev.lockstep.coordinator.baseline;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.lock.ServiceLock;
import dev.lockstep.coordinator.migration.BaselinePlan;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.store.BaselineStore;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.Baseline;
import dev.lockstep.protocol.BaselineReport;
import dev.lockstep.protocol.BaselineRequest;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.sql.Connection;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lockstep baseline --schema V} / {@code POST /v1/baseline}: adopts a database that has tables but no history
 * of the migration tool by recording V as applied without running it. Never silently: a dry run answers what is
 * there (the engine's {@link BaselinePlan}) and changes nothing; a real one does the same inspection again under the
 * service's Redis lock and the PostgreSQL fence — as a release run takes them, so no release runs meanwhile — then
 * the engine's baseline (Flyway's own, {@code alembic stamp}), then the audit row in {@code lockstep.baselines},
 * fenced.
 *
 * <p>Refused: a database with the tool's history (409, naming its version: release instead), one without tables
 * (422: nothing to adopt, release), a version the set does not have (422), while a release is in progress
 * or another coordinator holds the lock (409).
 *
 * <pre>{@code baselines.baseline(new BaselineRequest(null, "2", true, null), "operator", "10.0.0.7")   // the report
 * baselines.baseline(new BaselineRequest(null, "2", false, null), "operator", "10.0.0.7")  // records it}</pre>
 */
public final class Baselines {
  private static final Logger log = LoggerFactory.getLogger(Baselines.class);
  private static final Duration LOCK_WAIT = Duration.ofSeconds(5);

  private final String service;
  private final MigrationEngine migrations;
  private final Connections connections;
  private final ReleaseStore store;
  private final ServiceLock.Factory locks;
  private final WorkerExecutor worker;
  private final Clock clock;
  private final String instanceId;

  /** @param worker where the inspection, Flyway and the fence block; a baseline takes milliseconds */
  public Baselines(String service, MigrationEngine migrations, Connections connections, ReleaseStore store,
                   ServiceLock.Factory locks, WorkerExecutor worker, Clock clock, String instanceId) {
    this.service = service;
    this.migrations = migrations;
    this.connections = connections;
    this.store = store;
    this.locks = locks;
    this.worker = worker;
    this.clock = clock;
    this.instanceId = instanceId;
  }

  /**
   * @param requestedBy who asks, for the audit: the operator token's name
   * @param caller the address the request came from
   */
  public Future<BaselineReport> baseline(BaselineRequest request, String requestedBy, String caller) {
    if (request.service() != null && !request.service().isEmpty() && !request.service().equals(service)) {
      return Future.failedFuture(new LockstepException(LockstepException.Code.UNPROCESSABLE,
          "this coordinator manages service " + service + ", not " + request.service()));
    }
    if (request.schema() == null) {
      return Future.failedFuture(LockstepException.badRequest("field 'schema' of BaselineRequest is required: the version"
          + " to record as applied without running it, e.g. \"2\""));
    }
    if (request.dryRun() == null) {
      return Future.failedFuture(LockstepException.badRequest("field 'dryRun' of BaselineRequest is required: true to see"
          + " what is there and what the baseline would mean, false to record it after reading that; nothing is"
          + " baselined silently"));
    }
    try {
      migrations.checkSchema(request.schema());
    } catch (LockstepException e) {
      return Future.failedFuture(e);
    }
    Future<Inspected> inspected = worker.executeBlocking(() -> {
      MigrationSet set = migrations.carried(request.migrations());
      return inspect(set, request.schema());
    }, false);
    if (request.dryRun()) {
      return inspected.map(i -> report(i, null));
    }
    return inspected.compose(i -> underLock(() -> fenced(i, requestedBy, caller)));
  }

  private record Inspected(MigrationSet set, String schema, BaselinePlan plan) {}

  /** What is there, refused (by the engine) unless it is a database to adopt at {@code schema}. */
  private Inspected inspect(MigrationSet set, String schema) throws java.sql.SQLException {
    try (Connection c = connections.open("lockstep-baseline/" + service)) {
      return new Inspected(set, schema, migrations.baselinePlan(c, set, schema));
    }
  }

  private Future<BaselineReport> underLock(java.util.concurrent.Callable<BaselineReport> fenced) {
    ServiceLock lock = locks.of(service);
    return lock.acquire(LOCK_WAIT).compose(won -> {
      if (!won) {
        return Future.failedFuture(LockstepException.conflict("another coordinator holds the lock of service " + service
            + " (a release is running or starting); baseline when it has ended"));
      }
      return store.active(service)
          .compose(active -> active.isEmpty() ? worker.executeBlocking(fenced, false)
              : Future.failedFuture(LockstepException.conflict("service " + service + " has release " + active.get().id()
                  + " in progress (" + active.get().phase() + "); baseline when it has ended, or abort it")))
          .eventually(lock::release);
    });
  }

  /**
   * Under the service's lock and the fence: the inspection again (what holds under the fence is what counts), the
   * engine's baseline (Flyway's, {@code alembic stamp}) and the audit row.
   */
  private BaselineReport fenced(Inspected asked, String requestedBy, String caller) throws java.sql.SQLException {
    try (Fence.Held held = Fence.acquire(connections.open("lockstep-baseline/" + service), service, instanceId)) {
      Inspected now = inspect(asked.set(), asked.schema());
      BaselinePlan plan = now.plan();
      migrations.baseline(now.set(), plan.version(), held.epoch());
      Baseline baseline = new Baseline(service, plan.version(), plan.description(), requestedBy, caller,
          clock.instant().toString(), plan.tables(), plan.covered(), now.set().digest());
      BaselineStore.record(held.connection(), baseline, held.epoch());
      log.info("service {}: baseline at {} ({}) recorded by {} from {} (epoch {}): {} table(s) adopted; {} recorded as"
          + " applied without running", service, baseline.version(), plan.description(), requestedBy, caller,
          held.epoch(), baseline.tables().size(), plan.covered().isEmpty() ? "no migration listed"
              : String.join(", ", plan.covered()));
      return report(now, baseline);
    }
  }

  private BaselineReport report(Inspected inspected, Baseline baseline) {
    BaselinePlan plan = inspected.plan();
    return new BaselineReport(service, plan.shown(), baseline == null, plan.tables(), plan.migrations(), plan.suggested(),
        plan.warnings(), inspected.set().digest(), baseline);
  }
}
