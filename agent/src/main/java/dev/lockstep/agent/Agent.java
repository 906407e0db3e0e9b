package dev.lockstep.agent;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Mode;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent: reports this server's revision and state to the coordinator, follows the service's desired state
 * with a blocking query, and runs the local hooks that {@link Reconciler} asks for. In readiness mode it also answers
 * the platform's readiness probe ({@link ReadinessServer}) with what {@link Readiness} decides from the same desired
 * state, and an ephemeral agent leaves the registry when it stops. Everything it owns is touched on its own verticle
 * context only; hooks, the revision command and the digest run on a named worker pool.
 *
 * <pre>{@code
 * Vertx vertx = Vertx.vertx();
 * String deployment = vertx.deployVerticle(new Agent(config)).await();
 * ...
 * vertx.undeploy(deployment).await();
 * }</pre>
 */
public final class Agent extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(Agent.class);
  /** Enough rounds for the longest chain (prepare → switch → serve) on one desired state. */
  private static final int MAX_ROUNDS = 4;
  /**
   * The longest an agent waits for a switch time ({@code DesiredState.switchAt}): the coordinator announces it a
   * fraction of a second ahead, so a longer wait means the two hosts' clocks disagree, and the switch should not wait
   * on that.
   */
  public static final Duration MAX_SWITCH_WAIT = Duration.ofSeconds(5);
  /** How long after a switch time the agent takes up its own part of a switch the primed shell started on time. */
  private static final Duration AFTER_SHELL_STARTED = Duration.ofMillis(20);
  private static final AtomicInteger POOLS = new AtomicInteger();
  /**
   * {@code -Dlockstep.agent.primeSwitchHook=false} forks the switch hook at the switch, as before priming: for measuring
   * what priming saves (docs/benchmarks.md), and a way out should a platform's {@code sh} not behave.
   */
  private static final boolean PRIME_SWITCH_HOOK =
      !"false".equals(System.getProperty("lockstep.agent.primeSwitchHook"));

  private final AgentConfig config;
  private final Clock clock;

  private HookRunner hooks;
  private WorkerExecutor workers;
  private CoordinatorClient coordinator;
  private volatile LocalState state;
  private boolean stopped;
  private long reportTimer = -1;
  /** When a change of state is reported: a transitional one waits for the state that ends it. */
  private ReportPacing pacing;
  private boolean reportInFlight;
  private boolean reportAgain;
  private int pollFailures;
  /** The newest desired state not yet handled; older ones waiting behind a running hook are dropped. */
  private DesiredState pending;
  private boolean busy;
  private String lastDesiredSeen;
  private long lastStaleIndexLogged = -1;
  /** The newest desired state not from a superseded coordinator: what readiness is decided on. */
  private DesiredState latestDesired;
  /** Readiness mode's current answer; null without readiness mode. */
  private volatile Readiness readiness;
  private ReadinessServer readinessServer;
  /** The digest of the migrations folder as last read (at start, after each prepare); null without one. */
  private String folderDigest;
  private boolean uploading;
  /** The switch hook's shell, forked once this agent prepared and waiting for the switch; null if none waits. */
  private HookRunner.Primed primedSwitch;
  /** The end of the switch hook its primed shell starts at the switch time by itself, awaited since; null if none. */
  private Future<Ended> scheduledSwitch;

  /** How a hook ended, and when: taken on the worker thread that saw it end, not after the hop to the event loop. */
  private record Ended(HookResult result, Instant at) {}

  public Agent(AgentConfig config) {
    this(config, Clock.systemUTC());
  }

  /** With a clock of the caller's choosing, for the switch time it reports. */
  public Agent(AgentConfig config, Clock clock) {
    this.config = Objects.requireNonNull(config, "config");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** What the agent knows about itself now; null before it started. Safe to call from any thread. */
  public LocalState state() {
    return state;
  }

  /** Readiness mode's answer now ({@link Readiness#NOT_YET} before it started); null without readiness mode. */
  public Readiness readiness() {
    return readiness;
  }

  /** The port {@code GET /ready} is served on, once started in readiness mode; -1 otherwise. */
  public int readinessPort() {
    ReadinessServer server = readinessServer;
    return server == null ? -1 : server.port();
  }

  @Override
  public Future<?> start() {
    HookLedger ledger = HookLedger.of(config.service(), config.id());
    HookLedger.warmUp();
    ReleaseWarmUp.start(config.service(), config.readinessMode(), config.migrations());
    pacing = new ReportPacing(vertx, this::report);
    hooks = new HookRunner(config.hookTimeout(),
        Map.of("LOCKSTEP_AGENT_ID", config.id(), "LOCKSTEP_SERVICE", config.service()), ledger);
    // One hook at a time, but it may legitimately run for the whole hook timeout: don't warn before that.
    workers = vertx.createSharedWorkerExecutor("lockstep-hooks-" + POOLS.incrementAndGet(), 1,
        config.hookTimeout().toMillis() + 30_000, TimeUnit.MILLISECONDS);
    // A hook an earlier life of this agent left running (it was killed mid-hook) must not run beside its retry.
    if (config.readinessMode()) {
      readiness = Readiness.NOT_YET;
    }
    return workers.executeBlocking(ledger::stopLeftovers).compose(stopped -> readRevision())
        .compose(revision -> startingDigest().map(digest -> LocalState.serving(revision).withDigest(digest)))
        .compose(initial -> {
          state = initial;
          folderDigest = initial.digest();
          return !config.readinessMode() ? Future.succeededFuture()
              : ReadinessServer.listen(vertx, config.readinessPort(), this::answer).onSuccess(s -> readinessServer = s);
        })
        .onSuccess(v -> {
          coordinator = new CoordinatorClient(vertx, config.coordinators(), config.token(), clock, config.tls());
          LOG.info("lockstep agent {} (service {}) on revision {}; coordinators {}; migrations {}{}; hooks: {}{}{}",
              config.id(), config.service(), state.revision(), urls(config.coordinators()),
              config.migrations() == null ? "none" : config.migrations(),
              folderDigest == null ? "" : " (digest " + MigrationsDigest.shortForm(folderDigest) + ")", describeHooks(),
              readinessServer == null ? "" : "; readiness probe on port " + readinessServer.port()
                  + " (GET /ready, GET /live), not ready until the coordinator says so",
              config.ephemeral() ? "; ephemeral: leaves the registry when stopped" : "");
          reportTimer = vertx.setPeriodic(config.reportInterval().toMillis(), tick -> report());
          report();
          poll(0);
        })
        .onFailure(e -> {
          if (readinessServer != null) {
            readinessServer.close();
          }
          workers.close();
        });
  }

  /** What {@code GET /ready} answers now. */
  private ReadinessServer.Answer answer() {
    LocalState now = state;
    DesiredState desired = latestDesired;
    return new ReadinessServer.Answer(readiness, now == null ? null : now.revision(),
        desired == null ? null : desired.releaseId());
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    discardPrimedSwitch();
    if (reportTimer >= 0) {
      vertx.cancelTimer(reportTimer);
    }
    return leave().eventually(() -> {
      if (coordinator != null) {
        coordinator.close();
      }
      LOG.info("lockstep agent {} stopped", config.id());
      return readinessServer == null ? Future.succeededFuture() : readinessServer.close();
    }).eventually(() -> workers.close());
  }

  /**
   * An ephemeral agent (a pod) never comes back under its id: it says it is leaving, so it is gone from the registry at
   * once instead of showing as lost. Bounded: a coordinator out of reach forgets it after its liveness timeout anyway.
   */
  private Future<Void> leave() {
    if (!config.ephemeral() || coordinator == null) {
      return Future.succeededFuture();
    }
    return coordinator.leave(config.service(), config.id())
        .onSuccess(v -> LOG.info("left the registry of service {} (ephemeral agent stopping)", config.service()))
        .recover(e -> {
          LOG.warn("could not tell the coordinator this agent is leaving ({}); it forgets this agent once it has been"
              + " silent past its liveness timeout", e.getMessage());
          return Future.succeededFuture();
        });
  }

  // ---- reporting --------------------------------------------------------------------------------------------

  /**
   * Sends the current state. One report in flight at a time, so the coordinator never receives an older state
   * after a newer one; a change made meanwhile is sent as soon as the previous report is answered.
   */
  private void report() {
    if (stopped || coordinator == null) {
      return;
    }
    pacing.reporting();
    if (reportInFlight) {
      reportAgain = true;
      return;
    }
    reportInFlight = true;
    reportAgain = false;
    Readiness now = readiness;
    coordinator.report(state.toReport(config.id(), config.service(), now == null ? null : now.ready(),
        config.ephemeral(), config.reportInterval())).onComplete(done -> {
      reportInFlight = false;
      if (done.succeeded() && done.result().sendMigrations() != null) {
        upload(done.result().sendMigrations());
      }
      if (reportAgain) {
        report();
      }
    });
  }

  /**
   * The coordinator asked for the set of this agent's migrations folder (it has none of that digest yet), so that a
   * release can take the set from the new instances. Sent once at a time, and only while the folder still has that
   * digest: the coordinator stores only what digests to what it asked for.
   */
  private void upload(String digest) {
    if (uploading || config.migrations() == null || !digest.equals(folderDigest)) {
      return;
    }
    uploading = true;
    workers.executeBlocking(() -> {
      java.util.SortedMap<String, byte[]> files = MigrationsDigest.files(config.migrations());
      if (!MigrationsDigest.of(files).equals(digest)) {
        throw new IllegalStateException("the migrations folder " + config.migrations() + " changed since it was read");
      }
      java.util.Map<String, String> encoded = new java.util.TreeMap<>();
      files.forEach((name, bytes) -> encoded.put(name, java.util.Base64.getEncoder().encodeToString(bytes)));
      return new dev.lockstep.protocol.MigrationSetUpload(encoded);
    }).compose(body -> coordinator.uploadSet(config.service(), digest, body).map(body.files().size()))
        .onSuccess(n -> LOG.info("uploaded the migration set {} ({} files) the coordinator asked for",
            MigrationsDigest.shortForm(digest), n))
        .onFailure(e -> LOG.warn("could not upload the migration set {} the coordinator asked for: {}",
            MigrationsDigest.shortForm(digest), e.getMessage()))
        .onComplete(done -> uploading = false);
  }

  private void update(LocalState next) {
    LocalState previous = state;
    if (next.equals(previous)) {
      return;
    }
    state = next;
    judge();
    if (next.state() != previous.state() || !Objects.equals(next.releaseId(), previous.releaseId())) {
      LOG.info("state {} → {} (release {}, revision {}{}{})", previous.state(), next.state(), next.releaseId(),
          next.revision(),
          next.digest() == null ? "" : ", digest " + MigrationsDigest.shortForm(next.digest()),
          next.detail() == null ? "" : ": " + next.detail());
    }
    pacing.changed(previous.state(), next.state());
  }

  // ---- following the desired state --------------------------------------------------------------------------

  private void poll(long index) {
    if (stopped) {
      return;
    }
    long sentAt = System.nanoTime();
    coordinator.desired(config.service(), config.id(), index, config.pollWait()).onComplete(answer -> {
      if (stopped) {
        return;
      }
      if (answer.failed()) {
        pollFailures++;
        vertx.setTimer(config.retry().after(pollFailures).toMillis(), t -> poll(index));
        return;
      }
      pollFailures = 0;
      DesiredState desired = answer.result();
      if (LOG.isDebugEnabled()) {
        LOG.debug("desired state index {} ({}) decoded at {}", desired.index(), desired.phase(), clock.instant());
      }
      offer(desired);
      boolean unchangedAtOnce = desired.index() == index
          && Duration.ofNanos(System.nanoTime() - sentAt).compareTo(config.retry().first()) < 0;
      if (unchangedAtOnce) {
        // A coordinator that does not hold the query would otherwise make this a busy loop.
        vertx.setTimer(config.retry().first().toMillis(), t -> poll(desired.index()));
      } else {
        poll(desired.index());
      }
    });
  }

  private void offer(DesiredState desired) {
    long highest = Math.max(state.epoch(), pending == null ? 0 : pending.epoch());
    if (desired.epoch() < highest) {
      logStale(desired, highest);
      return;
    }
    String summary = describe(desired);
    if (!summary.equals(lastDesiredSeen)) {
      lastDesiredSeen = summary;
      LOG.info("desired state: {}", summary);
    }
    pending = desired;
    latestDesired = desired;
    if (judge()) {
      report();
    }
    drain();
  }

  /**
   * Readiness mode: decides again from what the agent knows now, and logs a change. Called whenever the state or the
   * desired state changes, never on a failed poll: an agent that cannot reach the coordinator keeps its last answer.
   *
   * @return whether the answer changed
   */
  private boolean judge() {
    if (!config.readinessMode()) {
      return false;
    }
    Readiness before = readiness;
    Readiness now = Readiness.decide(state, latestDesired);
    if (now.equals(before)) {
      return false;
    }
    readiness = now;
    if (before == null || before.ready() != now.ready()) {
      LOG.info("{}: {}", now.ready() ? "ready" : "not ready", now.reason());
    }
    return true;
  }

  private void drain() {
    if (busy || stopped || pending == null) {
      return;
    }
    DesiredState desired = pending;
    pending = null;
    busy = true;
    converge(desired, 0).onComplete(done -> {
      busy = false;
      if (done.failed()) {
        LOG.error("could not act on desired state {}", describe(desired), done.cause());
      }
      drain();
    });
  }

  /** Acts on {@code desired} until the reconciler has nothing more to do, or a newer desired state arrived. */
  private Future<Void> converge(DesiredState desired, int round) {
    if (stopped) {
      return Future.succeededFuture();
    }
    Action action = Reconciler.decide(state, desired, config.readinessMode());
    if (action instanceof Action.IgnoreStale stale) {
      logStale(desired, stale.highestEpochSeen());
      return Future.succeededFuture();
    }
    adoptEpoch(desired, action);
    if (action instanceof Action.Nothing) {
      return Future.succeededFuture();
    }
    if (round >= MAX_ROUNDS) {
      LOG.warn("still {} after {} actions on release {}; waiting for the next desired state",
          action.getClass().getSimpleName(), MAX_ROUNDS, desired.releaseId());
      return Future.succeededFuture();
    }
    return execute(action).compose(v -> pending == null ? converge(desired, round + 1) : Future.succeededFuture());
  }

  /**
   * Takes the desired state's epoch. Before a prepare or a switch, whose state change is reported with it, it is not
   * reported alone: a release's first desired state carries a new epoch, and a report of the epoch alone would stand in
   * front of every agent's {@code prepared} (one report in flight at a time), two reports per agent instead of one.
   */
  private void adoptEpoch(DesiredState desired, Action action) {
    LocalState seen = state.withEpoch(desired.epoch());
    if (action instanceof Action.Prepare || action instanceof Action.Switch) {
      state = seen;
    } else {
      update(seen);
    }
  }

  private Future<Void> execute(Action action) {
    DesiredState desired = action.desired();
    if (!(action instanceof Action.Switch)) {
      discardPrimedSwitch(); // whatever comes instead of the switch it waited for (an abort, another release)
    }
    if (action instanceof Action.Prepare) {
      return prepare(desired).mapEmpty();
    }
    if (action instanceof Action.Switch change) {
      Future<Boolean> ready = change.prepareFirst() ? prepare(desired) : Future.succeededFuture(true);
      // A newer desired state that arrived while preparing or waiting for the switch time is decided first.
      return ready.compose(prepared -> prepared && pending == null ? switchTime(desired) : Future.succeededFuture(false))
          .compose(now -> now && pending == null && !stopped ? switchTo(desired) : Future.succeededFuture());
    }
    if (action instanceof Action.Serve) {
      LocalState serving = state.servingRelease(desired.releaseId());
      // Not the release it prepared for: what it serves is what its folder holds.
      update(serving.digest() == null ? serving.withDigest(folderDigest) : serving);
      return Future.succeededFuture();
    }
    if (action instanceof Action.Retire) {
      LOG.info("retiring: release {} {} service {} to revision {}; this instance ({}) stops taking traffic",
          desired.releaseId(), desired.phase().switchedOrLater() ? "switched" : "stops the old code of",
          config.service(), desired.targetRevision(), state.revision());
      update(state.retired(desired.releaseId(), clock.instant().toString()));
      return Future.succeededFuture();
    }
    if (action instanceof Action.Abort) {
      return abort(desired);
    }
    if (action instanceof Action.Hold) {
      LOG.warn("release {} failed after the database moved to schema {}; holding, not serving, until the operator"
          + " fixes forward or downgrades", desired.releaseId(), desired.schema());
      update(state.with(AgentState.HOLDING).withDetail("release " + desired.releaseId()
          + " failed part-way in maintenance mode; old code may not read the schema, so this server holds"));
      return Future.succeededFuture();
    }
    return Future.succeededFuture();
  }

  /** PREPARING → prepare hook → digest of what it staged → PREPARED; FAILED with the reason otherwise. */
  private Future<Boolean> prepare(DesiredState desired) {
    discardPrimedSwitch();
    update(state.enter(desired.releaseId(), AgentState.PREPARING));
    return runHook("prepare", config.hooks().onPrepare(), desired, "PREPARING").compose(result -> {
      if (!result.succeeded()) {
        update(state.with(AgentState.FAILED).withDetail(result.failure()));
        return Future.succeededFuture(false);
      }
      // After the hook: staging the new build is what puts the new migrations in the folder.
      return digest().map(digest -> {
        warnIfDigestDiffers(desired, digest);
        folderDigest = digest;
        update(state.with(AgentState.PREPARED).withDigest(digest));
        return true;
      }).compose(prepared -> primeSwitch(desired).map(prepared)).recover(e -> {
        update(state.with(AgentState.FAILED).withDetail("prepare hook succeeded but " + e.getMessage()));
        return Future.succeededFuture(false);
      });
    });
  }

  /**
   * Completes (true) at the desired state's switch time, at once when it has none or it is past; waits at most {@link
   * #MAX_SWITCH_WAIT}. A timer on this event loop, so a desired state that arrives meanwhile waits in {@code pending}.
   */
  private Future<Boolean> switchTime(DesiredState desired) {
    long waitMs = SwitchTime.waitMs(desired.switchAt(), clock.instant(), MAX_SWITCH_WAIT);
    if (waitMs == SwitchTime.CLOCKS_DISAGREE) {
      LOG.warn("release {} switches at {}, more than {} from this host's clock ({}): the clocks disagree; switching now",
          desired.releaseId(), desired.switchAt(), Durations.format(MAX_SWITCH_WAIT), clock.instant());
      return Future.succeededFuture(true);
    }
    if (waitMs == 0) {
      return Future.succeededFuture(true);
    }
    LOG.debug("release {}: switch hook runs at {}, in {} ms", desired.releaseId(), desired.switchAt(), waitMs);
    // Where the primed shell can start the hook at that moment by itself, it does: then nothing of this JVM runs at the
    // moment itself, and the agent's own work of the switch (the state change, its report, its log lines) comes just
    // after, so that it does not compete for a core with the hooks starting on this host.
    if (!digestRefused(desired) && primedSwitch != null
        && primedSwitch.isFor(config.hooks().onSwitch(), hookEnvironment(desired, "SWITCHING"))
        && primedSwitch.releaseAt(Instant.parse(desired.switchAt()))) {
      waitMs += AFTER_SHELL_STARTED.toMillis();
      if (scheduledSwitch == null) {
        HookRunner.Primed scheduled = primedSwitch;
        scheduledSwitch = ended(scheduled::await);
      }
    }
    Promise<Boolean> at = Promise.promise();
    vertx.setTimer(waitMs, id -> at.complete(true));
    return at.future();
  }

  /** Readiness mode: this instance's staged set is not the release's, so it must not switch (see switchTo). */
  private boolean digestRefused(DesiredState desired) {
    return config.readinessMode() && state.digest() != null && desired.digest() != null
        && !state.digest().equals(desired.digest());
  }

  /**
   * SWITCHING → switch hook → SWITCHED on the new revision, with the time the hook finished. In readiness mode that is
   * the moment it turns ready, so an instance whose staged set is not the release's stops here, failed: the coordinator
   * checked the instances that prepared in PREPARING, this one caught up after it.
   */
  private Future<Void> switchTo(DesiredState desired) {
    HookRunner.Primed primed = primedSwitch;
    primedSwitch = null;
    if (digestRefused(desired)) {
      update(state.with(AgentState.FAILED).withDetail("staged migrations digest "
          + MigrationsDigest.shortForm(state.digest()) + " but release " + desired.releaseId() + " applied "
          + MigrationsDigest.shortForm(desired.digest()) + "; not taking traffic: deploy the build of that release"));
      if (primed != null) {
        primed.discard();
      }
      return Future.succeededFuture();
    }
    // The hook goes to the worker before the state change is reported: the report (a JSON body, a log line, a request)
    // would otherwise stand between the decision and the fork, and each server's share of that is the fleet's switch
    // skew. The hook is written down before it forks (HookLedger), not by the report.
    Future<Ended> hook = releasePrimed(primed, desired);
    if (hook == null) {
      hook = hookEnded("switch", config.hooks().onSwitch(), desired, "SWITCHING");
    }
    update(state.with(AgentState.SWITCHING).withDetail(null));
    return hook.compose(ended -> {
      HookResult result = ended.result();
      if (!result.succeeded()) {
        update(state.with(AgentState.FAILED).withDetail(result.failure()));
        return Future.succeededFuture();
      }
      String switchedAt = ended.at().toString();
      // A pod's revision is its image's: nothing to read again, and the moment it turns ready is this one.
      if (config.revisionCommand() == null || config.readinessMode()) {
        update(state.switched(desired.targetRevision(), switchedAt));
        return Future.succeededFuture();
      }
      return readRevision().transform(read -> {
        if (read.succeeded()) {
          update(state.switched(read.result(), switchedAt));
        } else {
          // The hook said it switched; report the target but say the deployed revision is unconfirmed.
          LOG.warn("switched, but {}", read.cause().getMessage());
          update(state.switched(desired.targetRevision(), switchedAt)
              .withDetail("switched, but " + read.cause().getMessage()));
        }
        return Future.<Void>succeededFuture();
      });
    });
  }

  /** Abort hook, then ABORTED whatever it says: the release is over; a failing hook is reported in detail. */
  private Future<Void> abort(DesiredState desired) {
    return runHook("abort", config.hooks().onAbort(), desired, desired.phase().name()).map(result -> {
      update(state.with(AgentState.ABORTED).withDetail(result.failure()));
      return null;
    });
  }

  /**
   * Forks the switch hook's shell now that this agent prepared, so that the switch only has to let it run
   * ({@link HookRunner#prime}). Nothing without a switch hook; when priming fails, the switch starts the hook as before.
   */
  private Future<Void> primeSwitch(DesiredState desired) {
    String command = config.hooks().onSwitch();
    if (command == null || command.isBlank() || stopped || !PRIME_SWITCH_HOOK) {
      return Future.succeededFuture();
    }
    Map<String, String> env = hookEnvironment(desired, "SWITCHING");
    return workers.executeBlocking(() -> hooks.prime("switch", command, env)).map(primed -> {
      if (primed != null && stopped) {
        primed.discard();
      } else {
        primedSwitch = primed;
      }
      return (Void) null;
    }).recover(e -> {
      LOG.warn("could not prime the switch hook ({}); it will start at the switch", e.getMessage());
      return Future.succeededFuture();
    });
  }

  /**
   * Lets the primed switch hook run, if it was primed for this switch (same release, revision and mode), on this event
   * loop and without a worker's hand-off: the worker only waits for it. Null if there is none to release.
   */
  private Future<Ended> releasePrimed(HookRunner.Primed primed, DesiredState desired) {
    if (primed == null) {
      return null;
    }
    Future<Ended> scheduled = scheduledSwitch;
    scheduledSwitch = null;
    if (primed.scheduled() && scheduled != null) {
      // Its shell started the hook at the switch time (or is about to); its standard input ends now.
      primed.release();
      return scheduled;
    }
    if (!primed.isFor(config.hooks().onSwitch(), hookEnvironment(desired, "SWITCHING"))) {
      primed.discard();
      return null;
    }
    // A shell that is gone discards itself: the switch then forks the hook.
    return primed.release() ? ended(primed::await) : null;
  }

  /** Runs {@code hook} on the worker and notes when it ended, there. */
  private Future<Ended> ended(java.util.concurrent.Callable<HookResult> hook) {
    return workers.executeBlocking(() -> {
      HookResult result = hook.call();
      return new Ended(result, clock.instant());
    });
  }

  private void discardPrimedSwitch() {
    scheduledSwitch = null;
    if (primedSwitch != null) {
      primedSwitch.discard();
      primedSwitch = null;
    }
  }

  /** The {@code LOCKSTEP_*} variables a hook of {@code phase} gets from {@code desired}. */
  private static Map<String, String> hookEnvironment(DesiredState desired, String phase) {
    return HookRunner.releaseEnvironment(desired.releaseId(), desired.targetRevision(),
        desired.mode() == null ? null : desired.mode().wireName(), phase);
  }

  // ---- blocking work, on the worker pool -----------------------------------------------------------------------

  private Future<HookResult> runHook(String name, String command, DesiredState desired, String phase) {
    return hookEnded(name, command, desired, phase).map(Ended::result);
  }

  /** As {@link #runHook}, with when the hook ended. */
  private Future<Ended> hookEnded(String name, String command, DesiredState desired, String phase) {
    Map<String, String> env = hookEnvironment(desired, phase);
    if (LOG.isDebugEnabled()) {
      LOG.debug("{} hook handed to the worker at {}", name, clock.instant());
    }
    return ended(() -> hooks.run(name, command, env));
  }

  /** The fixed {@code --revision}, or what {@code --revision-command} prints now. */
  private Future<String> readRevision() {
    if (config.revisionCommand() == null) {
      return Future.succeededFuture(config.revision());
    }
    return workers.executeBlocking(() -> {
      HookResult result = hooks.capture("revision command", config.revisionCommand(), Map.of());
      if (!result.succeeded()) {
        throw new IllegalStateException("cannot read the revision: " + result.failure()
            + "; check --revision-command '" + config.revisionCommand() + "'");
      }
      String revision = result.stdout().trim();
      if (revision.isEmpty()) {
        throw new IllegalStateException("cannot read the revision: revision command '" + config.revisionCommand()
            + "' printed nothing");
      }
      return revision;
    });
  }

  private Future<String> digest() {
    if (config.migrations() == null) {
      return Future.succeededFuture(null);
    }
    return workers.executeBlocking(() -> MigrationsDigest.of(config.migrations()));
  }

  /**
   * Readiness mode: the image's folder digest at start, reported while no release is in hand (a release can take the
   * set from new instances by it). A long-lived server's folder is what its next prepare hook stages, so it reports a
   * digest only for a release, as before. A folder that is not there yet is no error here.
   */
  private Future<String> startingDigest() {
    if (!config.readinessMode()) {
      return Future.succeededFuture(null);
    }
    return digest().recover(e -> {
      LOG.info("no digest of the migrations folder yet: {}", e.getMessage());
      return Future.succeededFuture(null);
    });
  }

  // ---- log lines ------------------------------------------------------------------------------------------------

  /** The coordinator decides; this line tells whoever reads this server's log why the release will stop. */
  private void warnIfDigestDiffers(DesiredState desired, String digest) {
    if (digest != null && desired.digest() != null && !digest.equals(desired.digest())) {
      LOG.warn("staged migrations in {} have digest {} but the coordinator's are {}; the coordinator will refuse "
          + "to migrate until this server stages the same build", config.migrations(),
          MigrationsDigest.shortForm(digest), MigrationsDigest.shortForm(desired.digest()));
    }
  }

  private void logStale(DesiredState desired, long highest) {
    if (desired.index() != lastStaleIndexLogged) {
      lastStaleIndexLogged = desired.index();
      LOG.warn("ignoring desired state {}: epoch {} was already seen, so it comes from a coordinator that has "
          + "since been superseded", describe(desired), highest);
    }
  }

  private static String describe(DesiredState desired) {
    if (desired.releaseId() == null || desired.phase() == null) {
      return "no release (epoch " + desired.epoch() + ")";
    }
    Mode mode = desired.mode();
    return "release " + desired.releaseId() + " " + desired.phase() + " → revision " + desired.targetRevision()
        + " (" + (mode == null ? "mode unset" : mode.wireName()) + ", epoch " + desired.epoch() + ")";
  }

  private String describeHooks() {
    List<String> names = new ArrayList<>();
    if (config.hooks().onPrepare() != null) {
      names.add("prepare");
    }
    if (config.hooks().onSwitch() != null) {
      names.add("switch");
    }
    if (config.hooks().onAbort() != null) {
      names.add("abort");
    }
    return names.isEmpty() ? "none" : String.join(", ", names) + " (timeout " + Durations.exact(config.hookTimeout())
        + ")";
  }

  private static String urls(List<URI> uris) {
    return uris.stream().map(URI::toString).collect(Collectors.joining(", "));
  }
}
