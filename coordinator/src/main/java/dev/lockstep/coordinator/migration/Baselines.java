package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.lock.ServiceLock;
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
import org.flywaydb.core.api.MigrationVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code lockstep baseline --schema V} / {@code POST /v1/baseline}: adopts a database that has tables but no
 * Flyway history by recording V as applied without running it. Never silently: a dry run answers what is
 * there ({@link BaselineInspection}) and changes nothing; a real one does the same inspection again under
 * the service's Redis lock and the PostgreSQL fence — as a release run takes them, so no release runs
 * meanwhile — then Flyway's own baseline, then the audit row in {@code lockstep.baselines}, fenced.
 *
 * <p>Refused: a database with Flyway history (409, naming its version: release instead), one without tables
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
    MigrationVersion version;
    try {
      version = SchemaVersions.parse(request.schema());
    } catch (LockstepException e) {
      return Future.failedFuture(e);
    }
    Future<Inspected> inspected = worker.executeBlocking(() -> {
      MigrationSet set = migrations.carried(request.migrations());
      PendingMigration baselined = set.migration(version);
      if (baselined == null) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "schema version " + request.schema()
            + " is not in " + set.origin() + (set.newest() == null ? ", which holds no V… migrations"
                : "; a baseline records one of its versions (the newest is " + set.newest() + ")"));
      }
      return inspect(set);
    }, false);
    if (request.dryRun()) {
      return inspected.map(i -> report(request.schema(), version, i, null));
    }
    return inspected.compose(i -> record(request.schema(), version, i.set(), requestedBy, caller));
  }

  private record Inspected(MigrationSet set, BaselineInspection.Result found) {}

  /** What is there, refused unless it is a database to adopt. */
  private Inspected inspect(MigrationSet set) throws java.sql.SQLException {
    BaselineInspection.Result found;
    try (Connection c = connections.open("lockstep-baseline/" + service)) {
      found = BaselineInspection.inspect(c, set);
    }
    refuse(found);
    return new Inspected(set, found);
  }

  private static void refuse(BaselineInspection.Result found) {
    if (found.historyRows() > 0) {
      throw LockstepException.conflict("the database already has Flyway history (" + found.historyRows() + " row(s) in "
          + "flyway_schema_history, " + (found.historyVersion() == null ? "no version applied successfully"
              : "at version " + found.historyVersion()) + "): it is adopted already and a baseline would rewrite what it"
          + " says; release to move it on (lockstep release), and see lockstep history");
    }
    if (found.tables().isEmpty()) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "the database has no tables (outside PostgreSQL's"
          + " own schemas and lockstep): there is nothing to adopt; just release (lockstep release --revision R), which"
          + " applies every migration from the first");
    }
  }

  /**
   * Under the service's lock: no release in progress, then the fence, the inspection again (what holds under
   * the fence is what counts), Flyway's baseline and the audit row.
   */
  private Future<BaselineReport> record(String schema, MigrationVersion version, MigrationSet set, String requestedBy,
                                        String caller) {
    ServiceLock lock = locks.of(service);
    return lock.acquire(LOCK_WAIT).compose(won -> {
      if (!won) {
        return Future.failedFuture(LockstepException.conflict("another coordinator holds the lock of service " + service
            + " (a release is running or starting); baseline when it has ended"));
      }
      return store.active(service)
          .compose(active -> active.isEmpty() ? worker.executeBlocking(() -> fenced(schema, version, set, requestedBy, caller), false)
              : Future.failedFuture(LockstepException.conflict("service " + service + " has release " + active.get().id()
                  + " in progress (" + active.get().phase() + "); baseline when it has ended, or abort it")))
          .eventually(lock::release);
    });
  }

  private BaselineReport fenced(String schema, MigrationVersion version, MigrationSet set, String requestedBy, String caller)
      throws java.sql.SQLException {
    try (Fence.Held held = Fence.acquire(connections.open("lockstep-baseline/" + service), service, instanceId)) {
      Inspected now = inspect(set);
      String recorded = set.migration(version).version(); // as the set's file writes it (V001 records 001)
      migrations.baseline(set, recorded, held.epoch());
      List<String> covered = now.found().report(version).stream().filter(BaselineReport.Migration::covered)
          .map(BaselineReport.Migration::label).toList();
      Baseline baseline = new Baseline(service, recorded, Migrations.BASELINE_DESCRIPTION, requestedBy, caller,
          clock.instant().toString(), now.found().tables(), covered, set.digest());
      BaselineStore.record(held.connection(), baseline, held.epoch());
      log.info("service {}: baseline at version {} recorded by {} from {} (epoch {}): {} table(s) adopted; {} recorded as"
          + " applied without running", service, baseline.version(), requestedBy, caller, held.epoch(),
          baseline.tables().size(), covered.isEmpty() ? "no migration" : String.join(", ", covered));
      return report(schema, version, now, baseline);
    }
  }

  private BaselineReport report(String schema, MigrationVersion version, Inspected inspected, Baseline baseline) {
    BaselineInspection.Result found = inspected.found();
    return new BaselineReport(service, schema, baseline == null, found.tables(), found.report(version), found.suggested(),
        found.warnings(version), inspected.set().digest(), baseline);
  }
}
