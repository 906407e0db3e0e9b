package dev.lockstep.coordinator.release;

import dev.lockstep.protocol.ContractStatus;
import dev.lockstep.protocol.ReleaseOptions;
import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.config.CoordinatorConfig;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.Durations;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.eventbus.MessageConsumer;
import java.time.Clock;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import io.vertx.core.Context;
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
  private static final Duration NEW_LOCK_WAIT = Duration.ofSeconds(30);

  private final Vertx vertx;
  private final String service;
  private final CoordinatorConfig.Timings timings;
  private final ReleaseStore store;
  private final AgentRegistry registry;
  private final MigrationEngine migrations;
  private final WorkerExecutor worker;
  private final ReleaseRuns runs;
  private final Nudges nudges;
  private final Clock clock;
  private final NewInstances newInstances;

  /** The runs and the shutdown state below are only ever touched on {@link #home}. */
  private final Context home;
  private final Map<String, ReleaseRun> running = new HashMap<>();
  private long orphanTimer = -1;
  private MessageConsumer<Object> handovers;
  private boolean stopping;
  /** Completed when the last run has handed over, during shutdown. */
  private Promise<Void> drained;

  /**
   * @param service the service this coordinator manages
   * @param worker where a new release's set is read and planned
   * @param runs makes the run of each release this instance takes
   * @param home the context that owns the runs this instance holds: {@link #start}, called by the HTTP loops, hops to it
   */
  public ReleaseService(Vertx vertx, String service, CoordinatorConfig.Timings timings, ReleaseStore store,
                        AgentRegistry registry, MigrationEngine migrations, WorkerExecutor worker, ReleaseRuns runs,
                        Nudges nudges, Clock clock, NewInstances newInstances, Context home) {
    this.vertx = vertx;
    this.home = home;
    this.service = service;
    this.timings = timings;
    this.store = store;
    this.registry = registry;
    this.migrations = migrations;
    this.worker = worker;
    this.runs = runs;
    this.nudges = nudges;
    this.clock = clock;
    this.newInstances = newInstances;
  }

  /**
   * Validates and records a new release and starts running it.
   *
   * @param requestedBy who asks (the operator token's name), for the audit in the release document
   * @param requestedFrom the address the request came from
   */
  public Future<ReleaseDocument> start(ReleaseRequest given, String requestedBy, String requestedFrom) {
    Context caller = vertx.getOrCreateContext();
    if (caller == home) {
      return startHere(given, requestedBy, requestedFrom);
    }
    // An HTTP loop asks: the release starts on home, and the answer goes back to the loop that asked.
    Promise<ReleaseDocument> answer = Promise.promise();
    home.runOnContext(v -> startHere(given, requestedBy, requestedFrom)
        .onComplete(r -> caller.runOnContext(x -> answer.handle(r))));
    return answer.future();
  }

  private Future<ReleaseDocument> startHere(ReleaseRequest given, String requestedBy, String requestedFrom) {
    // contract is read as any case, and stored as the options document it: auto or defer
    ReleaseRequest request = given.contract() == null ? given
        : given.withContract(given.contract().toLowerCase(java.util.Locale.ROOT));
    if (stopping) {
      return Future.failedFuture(new LockstepException(LockstepException.Code.STOPPING,
          "this coordinator is shutting down; send the release to another coordinator instance"));
    }
    String asked = request.service() == null || request.service().isBlank() ? service : request.service();
    if (!asked.equals(service)) {
      return Future.failedFuture(new LockstepException(LockstepException.Code.UNPROCESSABLE, "this coordinator manages service "
          + service + ", not " + asked + "; send the release to that service's coordinator"));
    }
    if (request.revision() == null || !REVISION.matcher(request.revision()).matches()) {
      return Future.failedFuture(LockstepException.badRequest("revision is required: 1–200 characters of letters, digits"
          + " and . _ : / @ + - (got " + (request.revision() == null ? "nothing"
              : "'" + MigrationSet.printable(request.revision()) + "'") + ")"));
    }
    if (request.schema() != null) {
      try {
        migrations.checkSchema(request.schema());
      } catch (LockstepException e) {
        return Future.failedFuture(e);
      }
    }
    if (request.migrationsFrom() != null && !request.fromNewInstances()) {
      return Future.failedFuture(LockstepException.badRequest("migrationsFrom takes one value, agents (the set the new"
          + " instances staged); got '" + MigrationSet.printable(request.migrationsFrom()) + "'"));
    }
    if (request.fromNewInstances() && request.migrations() != null) {
      return Future.failedFuture(LockstepException.badRequest("give the migration set either as migrations (an upload) or"
          + " as migrationsFrom: agents, not both"));
    }
    if (request.contract() != null && !request.contract().equals(ReleaseOptions.CONTRACT_AUTO)
        && !request.contract().equals(ReleaseOptions.CONTRACT_DEFER)) {
      return Future.failedFuture(LockstepException.badRequest("contract takes auto (wait for the old code to go, then"
          + " apply it) or defer (leave it pending for lockstep contract); got '" + MigrationSet.printable(given.contract())
          + "'"));
    }
    if (request.minReady() != null && request.minReady() < 0) {
      return Future.failedFuture(LockstepException.badRequest("minReady must be 0 or more (got " + request.minReady()
          + ")"));
    }
    return store.pendingContract(service)
        .compose(pending -> pending.isEmpty() ? registry.list(service) : Future.failedFuture(LockstepException.conflict(
            "release " + pending.get().id() + " (revision " + pending.get().revision() + ") left its contract pending ("
                + String.join(", ", pending.get().contract().migrations()) + "): " + pending.get().contract().reason()
                + "; a new release cannot start before it, or it would run on a schema whose removals are still due")))
        .compose(agents -> {
          // An ephemeral agent (a pod) never comes back under its id: lost, it blocks nothing and is soon forgotten.
          List<AgentStatus> lost = agents.stream().filter(a -> a.state() == AgentState.LOST && !a.ephemeral()).toList();
          if (!lost.isEmpty() && !request.allowLost()) {
            return Future.failedFuture(LockstepException.conflict(lost.stream()
                .map(a -> "agent " + a.id() + " is lost (silent since " + a.lastSeen() + ", on revision " + a.revision() + ")")
                .collect(Collectors.joining("; "))
                + "; a release cannot start while a server may come back on old code: remove it (DELETE /v1/agents/"
                + lost.get(0).id() + "?service=" + service + ", or fix it so it reports again) or pass --allow-lost"));
          }
          Integer minReady = request.minReady() != null ? request.minReady() : NewInstances.servingNow(agents);
          Future<MigrationSet> set = request.fromNewInstances()
              ? newInstances.set(service, request.revision(), agents).compose(stored -> worker.executeBlocking(() -> {
                  migrations.accept(stored);
                  return stored;
                }, false))
              : worker.executeBlocking(() -> migrations.carried(request.migrations()), false);
          return set.compose(carried -> worker.executeBlocking(() -> new Planned(carried,
              migrations.plan(carried, request.schema()), NewInstances.anyInReadinessMode(agents) ? minReady : null), false));
        })
        .compose(planned -> {
          MigrationPlan plan = planned.plan();
          String now = clock.instant().toString();
          ReleaseDocument doc = new ReleaseDocument.Builder()
              .id(newId())
              .service(service)
              .revision(request.revision())
              .schema(plan.target())
              .fromSchema(plan.current())
              .mode(request.mode() == null ? Mode.AUTO : request.mode())
              .options(request.options().withMinReady(planned.minReady()))
              .phase(Phase.PLANNED)
              .pending(plan.pendingLabels())
              .contract(ContractStatus.waiting(plan.contract().stream().map(m -> m.label()).toList()))
              .createdAt(now)
              .updatedAt(now)
              .migrationsDigest(planned.set().digest())
              .requestedBy(requestedBy)
              .requestedFrom(requestedFrom)
              .build();
          return store.create(doc, planned.set()).onSuccess(created -> runs.remember(planned.set()));
        })
        .onSuccess(doc -> {
          log.info("release {} of service {} requested by {} from {}", doc.id(), service, requestedBy, requestedFrom);
          launch(doc, NEW_LOCK_WAIT);
        });
  }

  /** @param minReady the new instances PREPARING waits for; null when no agent of the service is in readiness mode */
  private record Planned(MigrationSet set, MigrationPlan plan, Integer minReady) {}

  /** Asks release {@code id} to abort, recording who asked and from where. */
  public Future<ReleaseDocument> abort(String id, String requestedBy, String requestedFrom) {
    // The run notices at its next look; the nudge makes that now, on whichever instance runs it.
    return store.requestAbort(id, requestedBy, requestedFrom).onSuccess(doc -> nudges.publish(Nudges.RUN_INPUT, doc.service()));
  }

  /** Resumes the service's unfinished release after a restart: each step is idempotent. */
  public Future<Void> resumeUnfinished() {
    return store.active(service).map(active -> {
      active.ifPresent(doc -> {
        log.warn("resuming release {} of service {} at {}", doc.id(), doc.service(), doc.phase());
        launch(doc, timings.resumeLockWait());
      });
      return null;
    });
  }

  /**
   * Every few seconds ({@code --orphan-scan}), and at once when another coordinator hands a release
   * over at shutdown, looks for an unfinished release of the service that no coordinator runs (the
   * service's lock is free): the one that ran it died, paused past its lease or shut down. This
   * instance then takes it over — lock, new epoch, resume — so a standby needs no restart to fail over.
   */
  public void watchForOrphans() {
    orphanTimer = vertx.setPeriodic(timings.orphanScan().toMillis(), t -> scanForOrphans());
    handovers = nudges.subscribe(Nudges.HANDED_OVER, service, this::scanForOrphans);
  }

  private void scanForOrphans() {
    if (stopping || !running.isEmpty()) {
      return;
    }
    store.active(service).onSuccess(active -> active
        .filter(doc -> !running.containsKey(doc.id()) && !stopping)
        .ifPresent(doc -> launch(doc, Duration.ZERO)));
  }

  /**
   * SIGTERM: take nothing new, ask each run to stop at its next safe point (between phases, during a
   * fleet wait, between migration steps), record where it is and let go of the fence and the lock,
   * then nudge the other coordinators to take over now. A migration step still running after
   * {@code grace} is left to the fence: the Redis lock is let go anyway, and the coordinator that takes
   * over terminates the step's session, which rolls it back.
   */
  public Future<Void> handOver(Duration grace) {
    stopping = true;
    stop();
    if (running.isEmpty()) {
      return Future.succeededFuture();
    }
    List<ReleaseRun> runsNow = List.copyOf(running.values());
    log.info("shutting down: handing over {} release(s) at their next safe point (waiting up to {})",
        runsNow.size(), Durations.format(grace));
    runsNow.forEach(ReleaseRun::handOver);
    Promise<Void> done = Promise.promise();
    drained = done;
    long deadline = vertx.setTimer(grace.toMillis(), t -> {
      log.warn("shutting down: release(s) {} did not reach a safe point within {}; letting go of the lock anyway (the"
          + " coordinator that takes over rolls the running step back)", running.keySet(), Durations.format(grace));
      List.copyOf(running.values()).forEach(ReleaseRun::abandon);
      vertx.setTimer(200, x -> done.tryComplete());
    });
    return done.future().onComplete(r -> vertx.cancelTimer(deadline));
  }

  public void stop() {
    if (orphanTimer >= 0) {
      vertx.cancelTimer(orphanTimer);
      orphanTimer = -1;
    }
    if (handovers != null) {
      handovers.unregister();
      handovers = null;
    }
  }

  private void launch(ReleaseDocument doc, Duration lockWait) {
    ReleaseRun run = runs.create(doc.id(), doc.service());
    running.put(doc.id(), run);
    run.run(lockWait).onComplete(r -> {
      running.remove(doc.id());
      if (stopping) {
        nudges.publish(Nudges.HANDED_OVER, doc.service());
        if (running.isEmpty() && drained != null) {
          drained.tryComplete();
        }
      } else if (r.succeeded() && r.result() && lockWait.isZero()) {
        log.warn("took over release {} of service {} from a coordinator that stopped running it", doc.id(), doc.service());
      }
    });
  }

  private String newId() {
    return "r-" + ID_TIME.format(clock.instant()) + "-"
        + String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
  }
}
