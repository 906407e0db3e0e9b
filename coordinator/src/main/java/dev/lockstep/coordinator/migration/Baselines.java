package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.error.LockstepException;
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
    if (migrations.name().equals("alembic")) {
      return stamp(request, requestedBy, caller);
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
    return underLock(() -> fenced(schema, version, set, requestedBy, caller));
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

  /**
   * Alembic's baseline: {@code alembic stamp REV}, fenced. Lockstep does not read Alembic's Python, so it cannot say
   * which revisions created which tables: the report lists the tables and says so. Refused when alembic_version
   * already names a revision (409) or the database has no tables (422), as for Flyway.
   */
  private Future<BaselineReport> stamp(BaselineRequest request, String requestedBy, String caller) {
    try {
      migrations.checkSchema(request.schema());
    } catch (LockstepException e) {
      return Future.failedFuture(e);
    }
    Future<StampCheck> checked = worker.executeBlocking(() -> stampCheck(migrations.carried(request.migrations()),
        request.schema()), false);
    if (request.dryRun()) {
      return checked.map(c -> stampReport(c, null));
    }
    return checked.compose(c -> underLock(() -> {
      try (Fence.Held held = Fence.acquire(connections.open("lockstep-baseline/" + service), service, instanceId)) {
        StampCheck now = stampCheck(c.set(), c.revision());
        migrations.baseline(now.set(), now.revision(), held.epoch());
        Baseline baseline = new Baseline(service, now.revision(), "alembic stamp " + now.revision(), requestedBy, caller,
            clock.instant().toString(), now.tables(), List.of(), now.set().digest());
        BaselineStore.record(held.connection(), baseline, held.epoch());
        log.info("service {}: alembic stamp {} recorded by {} from {} (epoch {}): {} table(s) adopted", service,
            baseline.version(), requestedBy, caller, held.epoch(), baseline.tables().size());
        return stampReport(now, baseline);
      }
    }));
  }

  private record StampCheck(MigrationSet set, String revision, List<String> tables) {}

  private StampCheck stampCheck(MigrationSet set, String schema) throws java.sql.SQLException {
    String revision = migrations.plan(set, schema).target(); // resolves head, a prefix; refuses what the set lacks
    try (Connection c = connections.open("lockstep-baseline/" + service)) {
      String stamped = null;
      try (var s = c.createStatement(); var exists = s.executeQuery("SELECT to_regclass('alembic_version') IS NOT NULL")) {
        exists.next();
        if (exists.getBoolean(1)) {
          try (var rs = s.executeQuery("SELECT string_agg(version_num, ',') FROM alembic_version")) {
            rs.next();
            stamped = rs.getString(1);
          }
        }
      }
      if (stamped != null) {
        throw LockstepException.conflict("the database is already at Alembic revision " + stamped + " (alembic_version):"
            + " it is adopted already and a baseline would rewrite what it says; release to move it on (lockstep"
            + " release), and see lockstep history");
      }
      BaselineInspection.Result found = BaselineInspection.inspect(c, set);
      if (found.tables().isEmpty()) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "the database has no tables (outside"
            + " PostgreSQL's own schemas and lockstep): there is nothing to adopt; just release (lockstep release"
            + " --revision R), which applies every revision from the first");
      }
      return new StampCheck(set, revision, found.tables());
    }
  }

  private BaselineReport stampReport(StampCheck c, Baseline baseline) {
    return new BaselineReport(service, c.revision(), baseline == null, c.tables(), List.of(), null,
        List.of("Lockstep does not read Alembic's Python, so it cannot tell which revisions created these tables: check"
            + " by hand that the database has every change up to " + c.revision() + " (alembic stamp records them as"
            + " applied without running them)"), c.set().digest(), baseline);
  }

  private BaselineReport report(String schema, MigrationVersion version, Inspected inspected, Baseline baseline) {
    BaselineInspection.Result found = inspected.found();
    return new BaselineReport(service, schema, baseline == null, found.tables(), found.report(version), found.suggested(),
        found.warnings(version), inspected.set().digest(), baseline);
  }
}
