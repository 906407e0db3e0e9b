package dev.lockstep.agent;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Walks the agent's decisions through a made-up release once, at start-up, on a thread of its own: the desired states
 * decoded as from the coordinator, the reconciler's decision at each phase, the state changes and the reports they make.
 * A JVM runs code it has not run yet slowly (loading its classes, interpreting it), and an agent's first release is
 * where its release code first runs. Twelve agents on two cores took 100-120 ms from decoding PREPARING to entering it,
 * and about 0.5 s until the first of them reported prepared (docs/benchmarks.md, third run); at the switch, where the
 * code had run once, 1 ms. Nothing here touches the agent's own state, the coordinator or a hook.
 *
 * <pre>{@code ReleaseWarmUp.start("shop", false);}</pre>
 */
final class ReleaseWarmUp {
  private static final Logger LOG = LoggerFactory.getLogger(ReleaseWarmUp.class);
  private static final String DIGEST = "0".repeat(64);

  private ReleaseWarmUp() {}

  /**
   * How many times the release is walked: past the 15 reflective calls after which the JDK generates an accessor for each
   * record component Jackson reads (otherwise generated in the middle of a release: thirteen of them at one agent's
   * switch, seen in its class-loading log), and enough for the hottest methods to be compiled.
   */
  static final int WALKS = 20;

  /**
   * Walks a release in the background, and reads the digest of {@code migrations} (null: none) as a prepare does, unless
   * in readiness mode, where the agent reads it at start anyway; failures only mean the first release pays for it.
   */
  static void start(String service, boolean readinessMode, Path migrations) {
    Thread warm = new Thread(() -> {
      try {
        for (int i = 0; i < WALKS; i++) {
          walk(service, readinessMode);
        }
        if (!readinessMode && migrations != null && Files.isDirectory(migrations)) {
          MigrationsDigest.of(migrations);
        }
      } catch (RuntimeException | LinkageError e) {
        LOG.debug("warming up the release path failed ({}); the first release pays for it", e.toString());
      }
    }, "lockstep-release-warm-up");
    warm.setDaemon(true);
    warm.start();
  }

  /** One release, PREPARING to COMPLETED, and an abort: returns where the release left the made-up agent. */
  static LocalState walk(String service, boolean readinessMode) {
    // In readiness mode an instance does not change its code: a new one (already on the target) prepares and turns
    // ready, an old one retires; a server on old code switches.
    LocalState state = LocalState.serving(readinessMode ? "warm-up-new" : "warm-up-old");
    LocalState old = LocalState.serving("warm-up-old");
    long index = 0;
    for (Phase phase : List.of(Phase.PREPARING, Phase.MIGRATING, Phase.SWITCHING, Phase.COMPLETED)) {
      DesiredState desired = desired(service, ++index, phase);
      state = step(state, desired, readinessMode);
      if (readinessMode) {
        old = step(old, desired, true);
      }
    }
    step(LocalState.serving("warm-up-old").enter("r-warm-up", AgentState.PREPARED),
        desired(service, ++index, Phase.ABORTED), readinessMode);
    return state;
  }

  private static DesiredState desired(String service, long index, Phase phase) {
    DesiredState sent = new DesiredState(service, index, 1, "r-warm-up", phase, "warm-up-new", Mode.ONLINE, DIGEST, "1");
    return Json.read(Json.write(sent), DesiredState.class);
  }

  private static LocalState step(LocalState state, DesiredState desired, boolean readinessMode) {
    Action action = Reconciler.decide(state, desired, readinessMode);
    // A record's equals, hashCode and toString are bootstrapped on first use, dozens of method-handle classes spun
    // (seen at PREPARING in the class-loading log): the agent compares states and desired states on every change.
    touch(state, desired, action);
    LocalState next = state.withEpoch(desired.epoch());
    if (action instanceof Action.Prepare) {
      next = next.enter(desired.releaseId(), AgentState.PREPARING)
          .with(AgentState.PREPARED).withDigest(DIGEST);
    } else if (action instanceof Action.Switch) {
      next = next.with(AgentState.SWITCHING).withDetail(null)
          .switched(desired.targetRevision(), Instant.now().toString());
    } else if (action instanceof Action.Serve) {
      next = next.servingRelease(desired.releaseId());
    } else if (action instanceof Action.Abort) {
      next = next.with(AgentState.ABORTED);
    }
    Readiness readiness = readinessMode ? Readiness.decide(next, desired) : null;
    AgentReport report = next.toReport("warm-up", desired.service(), readiness == null ? null : readiness.ready(), false,
        Duration.ofSeconds(2));
    Json.write(report);
    touch(next, report);
    return next;
  }

  private static void touch(Object... records) {
    for (Object record : records) {
      record.equals(record);
      record.hashCode();
      record.toString();
    }
  }
}
