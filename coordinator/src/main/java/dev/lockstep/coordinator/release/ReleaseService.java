package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.MigrationSet;
import dev.lockstep.coordinator.migration.SchemaVersions;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import io.vertx.core.Future;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts, aborts and resumes releases. Validation happens here, before anything is recorded, so a
 * bad request gets a 4xx that names the problem and leaves no trace.
 */
public final class ReleaseService {
  private static final Logger log = LoggerFactory.getLogger(ReleaseService.class);
  private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9._:/@+-]{1,200}");
  private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);

  private final ReleaseDeps deps;
  private static final Duration NEW_LOCK_WAIT = Duration.ofSeconds(30);

  private final Map<String, ReleaseRun> running = new HashMap<>();
  private long orphanTimer = -1;

  public ReleaseService(ReleaseDeps deps) {
    this.deps = deps;
  }

  public Future<ReleaseDocument> start(ReleaseRequest request) {
    String service = request.service() == null || request.service().isBlank() ? deps.config().service() : request.service();
    if (!service.equals(deps.config().service())) {
      return Future.failedFuture(new LockstepException(LockstepException.Code.UNPROCESSABLE, "this coordinator manages service "
          + deps.config().service() + ", not " + service + "; send the release to that service's coordinator"));
    }
    if (request.revision() == null || !REVISION.matcher(request.revision()).matches()) {
      return Future.failedFuture(LockstepException.badRequest("revision is required: 1–200 characters of letters, digits"
          + " and . _ : / @ + - (got " + (request.revision() == null ? "nothing" : "'" + request.revision() + "'") + ")"));
    }
    if (request.schema() != null) {
      try {
        SchemaVersions.parse(request.schema());
      } catch (LockstepException e) {
        return Future.failedFuture(e);
      }
    }
    return deps.registry().list(service)
        .compose(agents -> {
          List<AgentStatus> lost = agents.stream().filter(a -> a.state() == AgentState.LOST).toList();
          if (!lost.isEmpty() && !request.allowLost()) {
            return Future.failedFuture(LockstepException.conflict(lost.stream()
                .map(a -> "agent " + a.id() + " is lost (silent since " + a.lastSeen() + ", on revision " + a.revision() + ")")
                .collect(Collectors.joining("; "))
                + "; a release cannot start while a server may come back on old code: remove it (DELETE /v1/agents/"
                + lost.get(0).id() + "?service=" + service + ", or fix it so it reports again) or pass --allow-lost"));
          }
          return deps.worker().executeBlocking(() -> {
            MigrationSet set = deps.migrations().carried(request.migrations());
            return new Planned(set, deps.migrations().plan(set, request.schema()));
          }, false);
        })
        .compose(planned -> {
          MigrationPlan plan = planned.plan();
          String now = deps.clock().instant().toString();
          ReleaseDocument doc = new ReleaseDocument.Builder()
              .id(newId())
              .service(service)
              .revision(request.revision())
              .schema(plan.target())
              .fromSchema(plan.current())
              .mode(request.mode() == null ? Mode.AUTO : request.mode())
              .options(request.options())
              .phase(Phase.PLANNED)
              .pending(plan.pendingLabels())
              .createdAt(now)
              .updatedAt(now)
              .migrationsDigest(planned.set().digest())
              .build();
          return deps.store().create(doc, planned.set());
        })
        .onSuccess(doc -> launch(doc, NEW_LOCK_WAIT));
  }

  private record Planned(MigrationSet set, MigrationPlan plan) {}

  public Future<ReleaseDocument> abort(String id) {
    return deps.store().requestAbort(id);
  }

  /** Resumes the service's unfinished release after a restart: each step is idempotent. */
  public Future<Void> resumeUnfinished() {
    return deps.store().active(deps.config().service()).map(active -> {
      active.ifPresent(doc -> {
        log.warn("resuming release {} of service {} at {}", doc.id(), doc.service(), doc.phase());
        launch(doc, deps.config().timings().resumeLockWait());
      });
      return null;
    });
  }

  /**
   * Every few seconds, looks for an unfinished release of the service that no coordinator runs (the
   * service's lock is free): the one that ran it died or paused past its lease. This instance then
   * takes it over — lock, new epoch, resume — so a standby needs no restart to fail over.
   */
  public void watchForOrphans() {
    orphanTimer = deps.vertx().setPeriodic(deps.config().timings().orphanScan().toMillis(), t -> {
      if (!running.isEmpty()) {
        return;
      }
      deps.store().active(deps.config().service()).onSuccess(active -> active
          .filter(doc -> !running.containsKey(doc.id()))
          .ifPresent(doc -> launch(doc, Duration.ZERO)));
    });
  }

  public void stop() {
    if (orphanTimer >= 0) {
      deps.vertx().cancelTimer(orphanTimer);
    }
  }

  private void launch(ReleaseDocument doc, Duration lockWait) {
    ReleaseRun run = new ReleaseRun(deps, doc);
    running.put(doc.id(), run);
    run.run(lockWait).onComplete(r -> {
      running.remove(doc.id());
      if (r.succeeded() && r.result() && lockWait.isZero()) {
        log.warn("took over release {} of service {} from a coordinator that stopped running it", doc.id(), doc.service());
      }
    });
  }

  private String newId() {
    return "r-" + ID_TIME.format(deps.clock().instant()) + "-"
        + String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
  }
}
