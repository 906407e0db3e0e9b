package dev.lockstep.bench.fleet;

import dev.lockstep.agent.Action;
import dev.lockstep.agent.Agent;
import dev.lockstep.agent.SwitchTime;
import dev.lockstep.agent.AgentConfig;
import dev.lockstep.agent.CoordinatorClient;
import dev.lockstep.agent.CoordinatorException;
import dev.lockstep.agent.LocalState;
import dev.lockstep.agent.Reconciler;
import dev.lockstep.agent.ReportPacing;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Phase;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;

/**
 * One simulated agent: the real agent's protocol loop ({@code Agent}) without processes. It reports through the agent's
 * own {@link CoordinatorClient} every report interval and after every change, one report in flight at a time; it
 * follows the desired state with the client's blocking query, backing off as the agent does; it decides with the
 * agent's {@link Reconciler} and acts as the agent does with hooks that take no time: prepare is PREPARING, then
 * PREPARED with the digest of the staged build (checked against the release's), switch is SWITCHING, then SWITCHED on
 * the target revision with the time. Everything runs on the context that calls {@link #start}.
 */
final class SimulatedAgent {
  private static final int MAX_ROUNDS = 4;

  private final Vertx vertx;
  private final int index;
  private final String id;
  private final String service;
  private final String stagedDigest;
  private final Duration reportInterval;
  private final Duration pollWait;
  private final CoordinatorClient coordinator;
  private final FleetProbe probe;
  private final AgentConfig.Retry retry = AgentConfig.Retry.DEFAULT;

  private LocalState state;
  private boolean stopped;
  private long reportTimer = -1;
  private final ReportPacing pacing;
  private boolean reportInFlight;
  private boolean reportAgain;
  private int pollFailures;
  private DesiredState pending;
  private boolean busy;
  /** The release whose switch waits for its switch time (a timer is set); null when none waits. */
  private String switchWaiting;

  SimulatedAgent(Vertx vertx, int index, String id, String service, String revision, String stagedDigest,
                 Duration reportInterval, Duration pollWait, CoordinatorClient coordinator, FleetProbe probe) {
    this.vertx = vertx;
    this.index = index;
    this.id = id;
    this.service = service;
    this.stagedDigest = stagedDigest;
    this.reportInterval = reportInterval;
    this.pollWait = pollWait;
    this.coordinator = coordinator;
    this.probe = probe;
    this.state = LocalState.serving(revision);
    this.pacing = new ReportPacing(vertx, this::report);
  }

  /** As the agent starts: the first report at once, then one every interval, and the first blocking query. */
  void start() {
    reportTimer = vertx.setPeriodic(reportInterval.toMillis(), t -> report());
    report();
    poll(0);
  }

  void stop() {
    stopped = true;
    if (reportTimer >= 0) {
      vertx.cancelTimer(reportTimer);
    }
    coordinator.close();
  }

  private void report() {
    if (stopped) {
      return;
    }
    pacing.reporting();
    if (reportInFlight) {
      reportAgain = true;
      return;
    }
    reportInFlight = true;
    reportAgain = false;
    Latencies latencies = probe.reports(probe.period());
    long sent = System.nanoTime();
    coordinator.report(state.toReport(id, service, null, false, reportInterval)).onComplete(done -> {
      reportInFlight = false;
      long now = System.nanoTime();
      if (done.succeeded()) {
        latencies.record((now - sent) / 1e6);
        probe.registered(index, now);
      } else if (isTimeout(done.cause())) {
        latencies.timeout();
      } else {
        latencies.error();
      }
      if (reportAgain) {
        report();
      }
    });
  }

  private static boolean isTimeout(Throwable failure) {
    String message = failure.getMessage();
    return failure instanceof CoordinatorException c && c.kind() == CoordinatorException.Kind.UNREACHABLE
        && message != null && message.toLowerCase().contains("timeout");
  }

  /** As the agent's: a transitional state waits for the state that ends it ({@link ReportPacing}). */
  private void update(LocalState next) {
    if (next.equals(state)) {
      return;
    }
    LocalState previous = state;
    state = next;
    pacing.changed(previous.state(), next.state());
  }

  private void poll(long index) {
    if (stopped) {
      return;
    }
    long sentAt = System.nanoTime();
    coordinator.desired(service, id, index, pollWait).onComplete(answer -> {
      if (stopped) {
        return;
      }
      if (answer.failed()) {
        probe.pollFailed();
        pollFailures++;
        vertx.setTimer(retry.after(pollFailures).toMillis(), t -> poll(index));
        return;
      }
      pollFailures = 0;
      DesiredState desired = answer.result();
      noteLearned(desired);
      offer(desired);
      boolean unchangedAtOnce = desired.index() == index
          && Duration.ofNanos(System.nanoTime() - sentAt).compareTo(retry.first()) < 0;
      if (unchangedAtOnce) {
        vertx.setTimer(retry.first().toMillis(), t -> poll(desired.index()));
      } else {
        poll(desired.index());
      }
    });
  }

  /** The moment this agent learned the release's phase: what switch skew is made of. */
  private void noteLearned(DesiredState desired) {
    Phase phase = desired.phase();
    if (phase == null || desired.releaseId() == null) {
      return;
    }
    Instant now = Instant.now();
    if (phase == Phase.PREPARING) {
      probe.learned(index, Phase.PREPARING, now);
    } else if (phase.switchedOrLater()) {
      probe.learned(index, Phase.SWITCHING, now);
    }
  }

  private void offer(DesiredState desired) {
    long highest = Math.max(state.epoch(), pending == null ? 0 : pending.epoch());
    if (desired.epoch() < highest) {
      return;
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
    converge(desired, 0);
    busy = false;
    drain();
  }

  private void converge(DesiredState desired, int round) {
    Action action = Reconciler.decide(state, desired);
    if (action instanceof Action.IgnoreStale) {
      return;
    }
    // As the agent's adoptEpoch: the epoch goes out with the state change a prepare or a switch makes.
    LocalState seen = state.withEpoch(desired.epoch());
    if (action instanceof Action.Prepare || action instanceof Action.Switch) {
      state = seen;
    } else {
      update(seen);
    }
    if (action instanceof Action.Nothing || round >= MAX_ROUNDS) {
      return;
    }
    execute(action);
    converge(desired, round + 1);
  }

  private void execute(Action action) {
    DesiredState desired = action.desired();
    if (action instanceof Action.Prepare) {
      prepare(desired);
    } else if (action instanceof Action.Switch change) {
      if (!change.prepareFirst() || prepare(desired)) {
        switchWhenDue(desired);
      }
    } else if (action instanceof Action.Serve) {
      LocalState serving = state.servingRelease(desired.releaseId());
      update(serving.digest() == null ? serving.withDigest(stagedDigest) : serving);
    } else if (action instanceof Action.Abort) {
      update(state.with(AgentState.ABORTED));
    } else if (action instanceof Action.Hold) {
      update(state.with(AgentState.HOLDING));
    }
  }

  /** The prepare hook stages the new build at once; the agent then acknowledges with the digest of what it staged. */
  private boolean prepare(DesiredState desired) {
    update(state.enter(desired.releaseId(), AgentState.PREPARING));
    if (desired.digest() != null && !desired.digest().equals(stagedDigest)) {
      probe.digestMismatch();
    }
    update(state.with(AgentState.PREPARED).withDigest(stagedDigest));
    return true;
  }

  /** As the agent: at the desired state's switch time, at once without one or when it is past. */
  private void switchWhenDue(DesiredState desired) {
    if (desired.releaseId().equals(switchWaiting)) {
      return; // its timer is set; the same switch again (a new index) changes nothing
    }
    long waitMs = SwitchTime.waitMs(desired.switchAt(), Instant.now(), Agent.MAX_SWITCH_WAIT);
    if (waitMs <= 0) {
      switchTo(desired);
      return;
    }
    switchWaiting = desired.releaseId();
    vertx.setTimer(waitMs, t -> {
      if (stopped || !state.isFor(desired.releaseId()) || state.state() != AgentState.PREPARED) {
        switchWaiting = null;
        return;
      }
      // As the agent whose primed shell starts the hook at the switch time: the switch is now, and the agent's own part
      // (the state change and its report) comes 20 ms after, not competing with the hooks starting.
      Instant now = Instant.now();
      probe.switched(index, now);
      vertx.setTimer(20, later -> {
        switchWaiting = null;
        switchTo(desired, now);
      });
    });
  }

  private void switchTo(DesiredState desired) {
    Instant now = Instant.now();
    probe.switched(index, now);
    switchTo(desired, now);
  }

  private void switchTo(DesiredState desired, Instant switchedAt) {
    update(state.with(AgentState.SWITCHING).withDetail(null));
    update(state.switched(desired.targetRevision(), switchedAt.toString()));
  }
}
