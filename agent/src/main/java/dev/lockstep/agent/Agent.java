package dev.lockstep.agent;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Mode;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
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
 * with a blocking query, and runs the local hooks that {@link Reconciler} asks for. Everything it owns is touched
 * on its own verticle context only; hooks, the revision command and the digest run on a named worker pool.
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
  private static final AtomicInteger POOLS = new AtomicInteger();

  private final AgentConfig config;
  private final Clock clock;

  private HookRunner hooks;
  private WorkerExecutor workers;
  private CoordinatorClient coordinator;
  private volatile LocalState state;
  private boolean stopped;
  private long reportTimer = -1;
  private boolean reportInFlight;
  private boolean reportAgain;
  private int pollFailures;
  /** The newest desired state not yet handled; older ones waiting behind a running hook are dropped. */
  private DesiredState pending;
  private boolean busy;
  private String lastDesiredSeen;
  private long lastStaleIndexLogged = -1;

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

  @Override
  public Future<?> start() {
    HookLedger ledger = HookLedger.of(config.service(), config.id());
    hooks = new HookRunner(config.hookTimeout(),
        Map.of("LOCKSTEP_AGENT_ID", config.id(), "LOCKSTEP_SERVICE", config.service()), ledger);
    // One hook at a time, but it may legitimately run for the whole hook timeout: don't warn before that.
    workers = vertx.createSharedWorkerExecutor("lockstep-hooks-" + POOLS.incrementAndGet(), 1,
        config.hookTimeout().toMillis() + 30_000, TimeUnit.MILLISECONDS);
    // A hook an earlier life of this agent left running (it was killed mid-hook) must not run beside its retry.
    return workers.executeBlocking(ledger::stopLeftovers).compose(stopped -> readRevision()).onSuccess(revision -> {
      state = LocalState.serving(revision);
      coordinator = new CoordinatorClient(vertx, config.coordinators(), config.token(), clock, config.tls());
      LOG.info("lockstep agent {} (service {}) on revision {}; coordinators {}; migrations {}; hooks: {}",
          config.id(), config.service(), revision, urls(config.coordinators()),
          config.migrations() == null ? "none" : config.migrations(), describeHooks());
      reportTimer = vertx.setPeriodic(config.reportInterval().toMillis(), tick -> report());
      report();
      poll(0);
    }).onFailure(e -> workers.close());
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    if (reportTimer >= 0) {
      vertx.cancelTimer(reportTimer);
    }
    if (coordinator != null) {
      coordinator.close();
    }
    LOG.info("lockstep agent {} stopped", config.id());
    return workers.close();
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
    if (reportInFlight) {
      reportAgain = true;
      return;
    }
    reportInFlight = true;
    reportAgain = false;
    coordinator.report(state.toReport(config.id(), config.service())).onComplete(done -> {
      reportInFlight = false;
      if (reportAgain) {
        report();
      }
    });
  }

  private void update(LocalState next) {
    LocalState previous = state;
    if (next.equals(previous)) {
      return;
    }
    state = next;
    if (next.state() != previous.state() || !Objects.equals(next.releaseId(), previous.releaseId())) {
      LOG.info("state {} → {} (release {}, revision {}{}{})", previous.state(), next.state(), next.releaseId(),
          next.revision(),
          next.digest() == null ? "" : ", digest " + MigrationsDigest.shortForm(next.digest()),
          next.detail() == null ? "" : ": " + next.detail());
    }
    report();
  }

  // ---- following the desired state --------------------------------------------------------------------------

  private void poll(long index) {
    if (stopped) {
      return;
    }
    long sentAt = System.nanoTime();
    coordinator.desired(config.service(), index, config.pollWait()).onComplete(answer -> {
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
    drain();
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
    Action action = Reconciler.decide(state, desired);
    if (action instanceof Action.IgnoreStale stale) {
      logStale(desired, stale.highestEpochSeen());
      return Future.succeededFuture();
    }
    update(state.withEpoch(desired.epoch()));
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

  private Future<Void> execute(Action action) {
    DesiredState desired = action.desired();
    if (action instanceof Action.Prepare) {
      return prepare(desired).mapEmpty();
    }
    if (action instanceof Action.Switch change) {
      Future<Boolean> ready = change.prepareFirst() ? prepare(desired) : Future.succeededFuture(true);
      // A newer desired state that arrived while preparing (an abort, say) is decided first.
      return ready.compose(prepared -> prepared && pending == null ? switchTo(desired) : Future.succeededFuture());
    }
    if (action instanceof Action.Serve) {
      update(state.servingRelease(desired.releaseId()));
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
    update(state.enter(desired.releaseId(), AgentState.PREPARING));
    return runHook("prepare", config.hooks().onPrepare(), desired, "PREPARING").compose(result -> {
      if (!result.succeeded()) {
        update(state.with(AgentState.FAILED).withDetail(result.failure()));
        return Future.succeededFuture(false);
      }
      // After the hook: staging the new build is what puts the new migrations in the folder.
      return digest().map(digest -> {
        warnIfDigestDiffers(desired, digest);
        update(state.with(AgentState.PREPARED).withDigest(digest));
        return true;
      }).recover(e -> {
        update(state.with(AgentState.FAILED).withDetail("prepare hook succeeded but " + e.getMessage()));
        return Future.succeededFuture(false);
      });
    });
  }

  /** SWITCHING → switch hook → SWITCHED on the new revision, with the time the hook finished. */
  private Future<Void> switchTo(DesiredState desired) {
    update(state.with(AgentState.SWITCHING).withDetail(null));
    return runHook("switch", config.hooks().onSwitch(), desired, "SWITCHING").compose(result -> {
      if (!result.succeeded()) {
        update(state.with(AgentState.FAILED).withDetail(result.failure()));
        return Future.succeededFuture();
      }
      String switchedAt = clock.instant().toString();
      if (config.revisionCommand() == null) {
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

  // ---- blocking work, on the worker pool -----------------------------------------------------------------------

  private Future<HookResult> runHook(String name, String command, DesiredState desired, String phase) {
    Map<String, String> env = HookRunner.releaseEnvironment(desired.releaseId(), desired.targetRevision(),
        desired.mode() == null ? null : desired.mode().wireName(), phase);
    return workers.executeBlocking(() -> hooks.run(name, command, env));
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
    return names.isEmpty() ? "none" : String.join(", ", names) + " (timeout " + Durations.format(config.hookTimeout())
        + ")";
  }

  private static String urls(List<URI> uris) {
    return uris.stream().map(URI::toString).collect(Collectors.joining(", "));
  }
}
