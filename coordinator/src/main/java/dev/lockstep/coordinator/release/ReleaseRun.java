package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.config.Durations;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.lock.FencedOutException;
import dev.lockstep.coordinator.lock.ServiceLock;
import dev.lockstep.coordinator.migration.MigrationFailedException;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.MigrationSet;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of one release through its phases, on the coordinator's event loop, with every blocking
 * step on the worker executor. The run holds the service's Redis lock and the PostgreSQL fence for
 * its whole life; every write it makes checks the fence. It may start at any non-terminal phase, so
 * a coordinator that restarts (or takes over) resumes a half-done release: each step is idempotent.
 *
 * <pre>{@code new ReleaseRun(deps, doc).run().onComplete(done -> ...)}</pre>
 */
public final class ReleaseRun {
  private static final Logger log = LoggerFactory.getLogger(ReleaseRun.class);
  private static final long POLL_MS = 150;
  /** A migration that cannot get its lock is rolled back and tried again, this many times in all. */
  private static final int LOCK_ATTEMPTS = 3;

  private final ReleaseDeps deps;
  private final ServiceLock lock;
  private final Instant started;
  private ReleaseDocument doc;
  private Fence.Held fence;
  private long epoch = -1;
  private boolean fleetTold;
  private final Map<String, Long> unregisteredSince = new java.util.HashMap<>();
  /** The set the release carries, read from the store when the run starts: never a local folder. */
  private MigrationSet set;
  private String digest;

  public ReleaseRun(ReleaseDeps deps, ReleaseDocument doc) {
    this.deps = deps;
    this.doc = doc;
    this.lock = new ServiceLock(deps.vertx(), deps.redisson(), doc.service());
    this.started = deps.clock().instant();
  }

  /**
   * Takes the service's lock (waiting up to {@code lockWait}) and runs the release to a terminal
   * phase. If another coordinator holds the lock, it is left to that one: returns false and
   * changes nothing. Never fails.
   */
  public Future<Boolean> run(Duration lockWait) {
    return lock.acquire(lockWait).compose(won -> {
      if (!won) {
        log.info("release {}: another coordinator holds the lock of service {}; leaving the release to it",
            doc.id(), doc.service());
        return Future.succeededFuture(false);
      }
      return runLocked().map(true);
    }, e -> {
      log.warn("release {}: could not reach Redis for the lock of service {} ({}); will try again",
          doc.id(), doc.service(), e.getMessage());
      return Future.succeededFuture(false);
    });
  }

  private Future<ReleaseDocument> runLocked() {
    Phase resumeAt = doc.phase();
    Timer.Sample sample = Timer.start(deps.meters());
    return blocking(() -> Fence.acquire(deps.connections().open("lockstep-run/" + doc.service()),
            doc.service(), deps.instanceId()))
        .compose(held -> {
          fence = held;
          epoch = held.epoch();
          doc = doc.toBuilder().epoch(epoch).build();
          log.info("release {}: took the lock and fence of service {} (epoch {})", doc.id(), doc.service(), epoch);
          return resume(resumeAt);
        })
        .recover(this::end)
        .eventually(this::releaseLocks)
        .onComplete(r -> {
          sample.stop(deps.meters().timer("lockstep.release.duration", "phase", doc.phase().name()));
          deps.meters().counter("lockstep.releases", "phase", doc.phase().name()).increment();
        })
        .map(v -> doc);
  }

  private Future<Void> resume(Phase at) {
    Future<MigrationSet> carried;
    if (doc.migrationsDigest() == null) {
      // Created by a Lockstep that stored no set: the folder is all there is, as that version would have used it.
      log.warn("release {} carries no stored migration set (created by an older Lockstep); using the migrations folder",
          doc.id());
      carried = blocking(() -> deps.migrations().folderSet());
    } else {
      carried = deps.sets().load(doc.migrationsDigest(), doc.id());
    }
    return carried.compose(loaded -> {
      set = loaded;
      digest = loaded.digest();
      return from(at);
    });
  }

  private Future<Void> from(Phase at) {
    return switch (at) {
      case PLANNED, PREFLIGHT, PREPARING -> planned()
          .compose(this::preflight)
          .compose(v -> prepare())
          .compose(v -> migrate())
          .compose(v -> switchFleet())
          .compose(v -> complete());
      case MIGRATING -> {
        fleetTold = true;
        yield migrate().compose(v -> switchFleet()).compose(v -> complete());
      }
      case SWITCHING -> {
        fleetTold = true;
        yield switchFleet().compose(v -> complete());
      }
      default -> Future.succeededFuture();
    };
  }

  // PLANNED: compute the pending migrations under the lock.
  private Future<MigrationPlan> planned() {
    return blocking(() -> deps.migrations().plan(set, doc.schema())).compose(plan -> {
      doc = doc.toBuilder().phase(Phase.PLANNED).epoch(epoch).schema(plan.target()).fromSchema(plan.current())
          .pending(plan.pendingLabels()).build();
      String what = plan.pending().isEmpty() ? "no pending migrations"
          : plan.pending().size() + " pending migration(s): " + String.join(", ", plan.pendingLabels());
      return write("PLANNED: lock and fence taken (epoch " + epoch + "); schema " + orNone(plan.current()) + " → "
          + plan.target() + "; " + what, null).map(plan);
    });
  }

  // PREFLIGHT: rules inspect, repairs are planned, repairs and migrations are rehearsed and rolled
  // back, the mode is chosen. Nothing changes and no server has been touched yet.
  private Future<Void> preflight(MigrationPlan plan) {
    doc = doc.toBuilder().phase(Phase.PREFLIGHT).build();
    return write("PREFLIGHT: inspecting the database and rehearsing " + plan.pending().size()
            + " migration(s) in a transaction that is rolled back", null)
        .compose(v -> abortIfRequested())
        .compose(v -> blocking(() -> {
          try (Connection c = deps.connections().open("lockstep-preflight/" + doc.service())) {
            return deps.preflight().run(c, set, plan, doc.options());
          }
        }))
        .compose(report -> {
          doc = doc.toBuilder().findings(report.findings()).repairs(report.repairs()).mode(report.mode().mode())
              .modeReason(report.mode().reason()).build();
          if (report.blocked()) {
            return Future.failedFuture(new ReleaseAbortedException("pre-flight blocked: " + report.blockingReason()));
          }
          return write("PREFLIGHT: " + report.findings().size() + " finding(s), " + report.repairs().size()
              + " repair(s) planned" + (report.repairs().isEmpty() ? "" : " (" + String.join("; ", report.repairs()) + ")")
              + "; rehearsal passed; mode " + report.mode().mode().wireName() + ": " + report.mode().reason(), null);
        });
  }

  // PREPARING: every live agent stages the new code and acknowledges with its migrations digest.
  private Future<Void> prepare() {
    return abortIfRequested().compose(v -> deps.registry().list(doc.service())).compose(agents -> {
      List<ReleaseAgent> participants = agents.stream()
          .filter(a -> a.state() != AgentState.LOST)
          .map(a -> new ReleaseAgent(a.id(), AgentState.PREPARING, null, null, null))
          .toList();
      doc = doc.toBuilder().phase(Phase.PREPARING).agents(participants).build();
      fleetTold = true;
      String names = participants.stream().map(ReleaseAgent::id).collect(Collectors.joining(", "));
      return write("PREPARING: asking " + participants.size() + " agent(s) to prepare"
          + (participants.isEmpty() ? "" : ": " + names) + " (migrations digest " + MigrationsDigest.shortForm(digest) + ")",
          desired(Phase.PREPARING));
    }).compose(v -> awaitFleet(Phase.PREPARING, deps.config().prepareTimeout(),
        (participants, reports) -> FleetCheck.prepare(doc.id(), digest, participants, reports),
        a -> a.state() == AgentState.PREPARED ? a.id() + " prepared (digest " + MigrationsDigest.shortForm(a.digest()) + ")" : null,
        ReleaseAbortedException::new));
  }

  // MIGRATING: repairs, then the migrations: one fenced transaction, or steps when a migration
  // cannot run in a transaction.
  private Future<Void> migrate() {
    ReleaseDocument migrating = doc.toBuilder().phase(Phase.MIGRATING).build();
    return deps.store().enterMigrating(migrating, epoch, "MIGRATING: applying repairs, then " + doc.pending().size()
            + " migration(s) to schema " + doc.schema())
        .compose(entered -> {
          if (!entered) {
            return Future.failedFuture(new ReleaseAbortedException("aborted by the operator before MIGRATING"));
          }
          doc = migrating;
          return blocking(() -> new RepairStep(deps, doc.service(), doc.id(), epoch, orNone(doc.fromSchema())).apply());
        })
        .compose(applied -> {
          if (applied.isEmpty()) {
            return Future.succeededFuture();
          }
          doc = doc.toBuilder().repairs(applied).build();
          return write("MIGRATING: repaired: " + String.join("; ", applied), null);
        })
        // Planned again here: a resumed run applies only what is still pending.
        .compose(v -> blocking(() -> deps.migrations().plan(set, doc.schema())))
        .compose(plan -> {
          List<MigrationPlan.Step> steps = plan.steps();
          if (steps.isEmpty()) {
            return write("MIGRATING: nothing to apply (already at " + doc.schema() + ")", null);
          }
          return applySteps(steps, 0, 1, false);
        });
  }

  private Future<Void> applySteps(List<MigrationPlan.Step> steps, int index, int attempt, boolean committedBefore) {
    if (index == steps.size()) {
      return Future.succeededFuture();
    }
    MigrationPlan.Step step = steps.get(index);
    String labels = step.migrations().stream().map(m -> m.label()).collect(Collectors.joining(", "));
    Future<Void> announced = steps.size() == 1 ? Future.succeededFuture()
        : write("MIGRATING: step " + (index + 1) + "/" + steps.size() + (step.transactional() ? " in one transaction: "
            : " outside a transaction: ") + labels, null);
    return announced
        .compose(v -> blocking(() -> deps.migrations().migrate(set, step, epoch)))
        .compose(applied -> {
          List<AppliedMigration> all = new ArrayList<>(doc.applied());
          all.addAll(applied);
          doc = doc.toBuilder().applied(all).build();
          return write("MIGRATING: applied " + applied.stream()
              .map(a -> "V" + a.version() + " (" + a.description() + ", " + a.executionMs() + " ms)")
              .collect(Collectors.joining(", ")), null);
        })
        .compose(v -> applySteps(steps, index + 1, 1, true), e -> {
          if (!(e instanceof MigrationFailedException failed)) {
            return Future.failedFuture(e);
          }
          if (failed.lockTimeout() && step.transactional() && attempt < LOCK_ATTEMPTS) {
            long backoff = deps.config().timings().retryWait().toMillis() << (attempt - 1);
            return write("MIGRATING: " + labels + " could not get its lock within lock_timeout "
                    + Durations.format(deps.config().lockTimeout()) + " (a long transaction holds the table); rolled back,"
                    + " retry " + (attempt + 1) + "/" + LOCK_ATTEMPTS + " in " + Durations.format(Duration.ofMillis(backoff)), null)
                .compose(v -> delay(backoff))
                .compose(v -> applySteps(steps, index, attempt + 1, committedBefore));
          }
          return Future.failedFuture(stepFailed(failed, committedBefore, step));
        });
  }

  /** A step failed: say where the database is and what the fleet must do about it. */
  private ReleaseFailedException stepFailed(MigrationFailedException e, boolean committedBefore, MigrationPlan.Step step) {
    if (!committedBefore) {
      return new ReleaseFailedException(e.getMessage() + "; the release was rolled back whole, the schema is still at "
          + orNone(doc.fromSchema()), FleetInstruction.ABORT, e);
    }
    // An undo that failed leaves its version in place; a forward step leaves the last one applied.
    String at = step.undo() ? step.target() : doc.applied().get(doc.applied().size() - 1).version();
    boolean maintenance = doc.mode() == Mode.MAINTENANCE;
    return new ReleaseFailedException(e.getMessage() + "; this release is not atomic and earlier steps committed: the"
        + " database is now at version " + at + ", not " + orNone(doc.fromSchema()) + ". "
        + (maintenance
            ? "Agents hold, not serving, because old code may not read it: fix the migration and release again (fix forward)."
            : "The release only adds, so agents abort and keep serving the old revision; fix the migration and release again."),
        maintenance ? FleetInstruction.HOLD : FleetInstruction.ABORT, e);
  }

  // SWITCHING: all agents switch at once; record each switch time and the skew.
  private Future<Void> switchFleet() {
    doc = doc.toBuilder().phase(Phase.SWITCHING).build();
    return write("SWITCHING: telling " + doc.agents().size() + " agent(s) to switch to revision " + doc.revision(),
        desired(Phase.SWITCHING))
        .compose(v -> awaitFleet(Phase.SWITCHING, deps.config().switchTimeout(),
            (participants, reports) -> FleetCheck.switched(doc.id(), doc.revision(), participants, reports),
            a -> a.switchedAt() != null ? a.id() + " switched at " + a.switchedAt()
                : a.state() == AgentState.SERVING ? a.id() + " serves " + doc.revision() + " (restarted)" : null,
            reason -> new ReleaseFailedException(reason + "; the schema is at " + doc.schema()
                + ", agents that switched stay switched and the others catch up when they can", FleetInstruction.NONE, null)));
  }

  private Future<Void> complete() {
    Long skew = FleetCheck.skewMs(doc.agents());
    doc = doc.toBuilder().phase(Phase.COMPLETED).switchSkewMs(skew).build();
    if (skew != null) {
      deps.meters().summary("lockstep.switch.skew.ms").record(skew);
    }
    return write("COMPLETED in " + Durations.format(Duration.between(started, deps.clock().instant()))
        + "; " + doc.agents().size() + " agent(s) on revision " + doc.revision() + ", schema " + doc.schema()
        + (skew == null ? "" : ", switch skew " + skew + " ms"), desired(Phase.COMPLETED));
  }

  /**
   * Polls the registry until {@code judge} says the participants are through, one cannot go on, or
   * the timeout passes. Each agent's progress becomes an event, so operators watch it live.
   */
  private Future<Void> awaitFleet(Phase phase, Duration timeout,
                                  BiFunction<List<ReleaseAgent>, Map<String, AgentStatus>, FleetCheck.Progress> judge,
                                  Function<ReleaseAgent, String> describe,
                                  Function<String, RuntimeException> stop) {
    long deadline = deps.clock().millis() + timeout.toMillis();
    unregisteredSince.clear();
    return pollFleet(phase, deadline, timeout, judge, describe, stop);
  }

  private Future<Void> pollFleet(Phase phase, long deadline, Duration timeout,
                                 BiFunction<List<ReleaseAgent>, Map<String, AgentStatus>, FleetCheck.Progress> judge,
                                 Function<ReleaseAgent, String> describe,
                                 Function<String, RuntimeException> stop) {
    Future<Void> abortCheck = phase == Phase.PREPARING ? abortIfRequested() : Future.succeededFuture();
    return abortCheck
        .compose(v -> deps.registry().list(doc.service()))
        .compose(list -> {
          Map<String, AgentStatus> reports = list.stream().collect(Collectors.toMap(AgentStatus::id, a -> a));
          FleetCheck.Progress progress = judge.apply(doc.agents(), reports);
          List<String> news = new ArrayList<>();
          for (int i = 0; i < progress.agents().size(); i++) {
            ReleaseAgent before = doc.agents().get(i);
            ReleaseAgent after = progress.agents().get(i);
            if (!after.equals(before)) {
              String line = describe.apply(after);
              if (line != null && (describe.apply(before) == null)) {
                news.add(line);
              }
            }
          }
          boolean changed = !progress.agents().equals(doc.agents());
          doc = doc.toBuilder().agents(progress.agents()).build();
          long through = progress.agents().stream().filter(a -> describe.apply(a) != null).count();
          Future<Void> saved = changed
              ? write(news.isEmpty() ? null : phase + ": " + String.join(", ", news) + " (" + through + "/"
                  + progress.agents().size() + ")", null)
              : Future.succeededFuture();
          return saved.map(progress);
        })
        .recover(e -> e instanceof ReleaseAbortedException || e instanceof FencedOutException
            ? Future.failedFuture(e)
            : transientFailure(phase, e))
        .compose(progress -> {
          if (progress == null) {
            return delay().compose(v -> pollFleet(phase, deadline, timeout, judge, describe, stop));
          }
          if (progress.failure() != null) {
            return Future.failedFuture(stop.apply(progress.failure()));
          }
          String gone = unregisteredTooLong(progress.unregistered(), phase);
          if (gone != null) {
            return Future.failedFuture(stop.apply(gone));
          }
          if (progress.done()) {
            return Future.succeededFuture();
          }
          if (deps.clock().millis() > deadline) {
            String waiting = progress.agents().stream().filter(a -> describe.apply(a) == null)
                .map(a -> a.id() + " (" + a.state().wireName() + ")").collect(Collectors.joining(", "));
            return Future.failedFuture(stop.apply("agent(s) " + waiting + " did not finish " + phase + " within "
                + Durations.format(timeout)));
          }
          return delay().compose(v -> pollFleet(phase, deadline, timeout, judge, describe, stop));
        });
  }

  /**
   * An agent missing from the registry may be back in a moment (Redis restarted and lost the registry;
   * agents report every two seconds): only one missing for longer than the liveness timeout stops the release.
   */
  private String unregisteredTooLong(List<String> unregistered, Phase phase) {
    long now = deps.clock().millis();
    unregisteredSince.keySet().retainAll(unregistered);
    for (String id : unregistered) {
      long since = unregisteredSince.computeIfAbsent(id, k -> now);
      if (now - since > deps.config().lostAfter().toMillis()) {
        return "agent " + id + " has not been in the registry for " + Durations.format(Duration.ofMillis(now - since))
            + " during " + phase + " (removed by an operator, or Redis lost the registry and the agent has not reported since)";
      }
    }
    return null;
  }

  private Future<FleetCheck.Progress> transientFailure(Phase phase, Throwable e) {
    log.warn("release {}: could not read the fleet during {} ({}); retrying", doc.id(), phase, e.getMessage());
    return Future.succeededFuture(null);
  }

  private Future<Void> abortIfRequested() {
    return deps.store().abortRequested(doc.id()).compose(requested -> requested
        ? Future.failedFuture(new ReleaseAbortedException("aborted by the operator during " + doc.phase()))
        : Future.succeededFuture());
  }

  /** Ends the run ABORTED or FAILED, telling the fleet when it had been told anything. */
  private Future<Void> end(Throwable e) {
    if (e instanceof FencedOutException) {
      log.error("release {}: {}; stopping without another write", doc.id(), e.getMessage());
      return Future.succeededFuture();
    }
    Phase terminal;
    FleetInstruction instruction;
    if (e instanceof ReleaseAbortedException) {
      terminal = Phase.ABORTED;
      instruction = FleetInstruction.ABORT;
    } else if (e instanceof ReleaseFailedException failed) {
      terminal = Phase.FAILED;
      instruction = failed.instruction();
    } else {
      log.error("release {}: unexpected error in {}", doc.id(), doc.phase(), e);
      boolean beforeSchema = doc.phase().ordinal() < Phase.MIGRATING.ordinal();
      terminal = beforeSchema ? Phase.ABORTED : Phase.FAILED;
      instruction = beforeSchema ? FleetInstruction.ABORT : FleetInstruction.NONE;
    }
    boolean tellFleet = fleetTold && instruction != FleetInstruction.NONE;
    String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (epoch < 0) {
      // Without the fence nothing may be written; the release stays as it is for the next attempt.
      log.error("release {}: could not take the fence of service {} ({}); leaving the release at {} for a later attempt",
          doc.id(), doc.service(), reason, doc.phase());
      return Future.succeededFuture();
    }
    doc = doc.toBuilder().phase(terminal).reason(reason).build();
    log.warn("release {} {}: {}", doc.id(), terminal, reason);
    return write(terminal + ": " + reason, tellFleet ? desired(terminal, instruction == FleetInstruction.HOLD) : null)
        .recover(err -> {
          log.error("release {}: could not record {} ({}); a coordinator resuming it will finish it", doc.id(),
              terminal, err.getMessage());
          return Future.succeededFuture();
        });
  }

  private Future<Void> releaseLocks() {
    if (fence != null) {
      Fence.Held held = fence;
      fence = null;
      return blocking(() -> {
        held.close();
        return null;
      }).recover(e -> Future.succeededFuture()).compose(v -> lock.release());
    }
    return lock.release();
  }

  private DesiredState desired(Phase phase) {
    return desired(phase, false);
  }

  private DesiredState desired(Phase phase, boolean hold) {
    return new DesiredState(doc.service(), 0, epoch, doc.id(), phase, doc.revision(), doc.mode(), digest, doc.schema(), hold);
  }

  /** A fenced write of the document (and event, and desired state); wakes agents when the desired state changed. */
  private Future<Void> write(String event, DesiredState desired) {
    doc = doc.toBuilder().updatedAt(deps.clock().instant().toString()).build();
    if (event != null) {
      log.info("release {}: {}", doc.id(), event);
    }
    return deps.store().advance(doc, epoch, event, desired).map(index -> {
      if (desired != null) {
        deps.watch().changed(doc.service());
      }
      return null;
    });
  }

  private Future<Void> delay() {
    return delay(POLL_MS);
  }

  private Future<Void> delay(long ms) {
    Promise<Void> p = Promise.promise();
    deps.vertx().setTimer(ms, t -> p.complete());
    return p.future();
  }

  private <T> Future<T> blocking(Callable<T> work) {
    return deps.worker().executeBlocking(work, true);
  }

  private static String orNone(String version) {
    return version == null ? "(empty)" : version;
  }
}
