package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.MigrationsDigest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The new instances of a release to revision R: the readiness-mode agents already on R (pods of the new image). A
 * release may take its migration set from them ({@code --migrations-from agents}): every one must report the same
 * digest, and the set of that digest must have reached the coordinator ({@link StagedSets}), which it does within a
 * report or two of the first such pod starting. Also the default of {@code --min-ready}: as many new instances as
 * there are instances serving when the release starts, so the switch keeps the capacity the service has.
 *
 * <pre>{@code newInstances.set("app", "v2", agents).onSuccess(set -> ...)}</pre>
 */
public final class NewInstances {
  /** How long a release waits for a set that an agent was asked for and is sending. */
  static final Duration SET_WAIT = Duration.ofSeconds(15);
  private static final long POLL_MS = 500;

  private final Vertx vertx;
  private final MigrationSetStore sets;
  private final StagedSets staged;

  public NewInstances(Vertx vertx, MigrationSetStore sets, StagedSets staged) {
    this.vertx = vertx;
    this.sets = sets;
    this.staged = staged;
  }

  /** Readiness-mode agents that answer ready now: the capacity a release must keep. */
  static int servingNow(List<AgentStatus> agents) {
    return (int) agents.stream().filter(a -> a.state() != AgentState.LOST && Boolean.TRUE.equals(a.ready())).count();
  }

  static boolean anyInReadinessMode(List<AgentStatus> agents) {
    return agents.stream().anyMatch(AgentStatus::readinessMode);
  }

  /** The live readiness-mode agents on {@code revision}. */
  static List<AgentStatus> on(String revision, List<AgentStatus> agents) {
    return agents.stream()
        .filter(a -> a.readinessMode() && a.state() != AgentState.LOST && revision.equals(a.revision()))
        .toList();
  }

  /**
   * The set the new instances on {@code revision} staged.
   *
   * @throws LockstepException CONFLICT when there are none, when they disagree, or when their set has not arrived
   *     within {@link #SET_WAIT}; UNPROCESSABLE when one has no migrations folder
   */
  public Future<MigrationSet> set(String service, String revision, List<AgentStatus> agents) {
    List<AgentStatus> fresh = on(revision, agents);
    if (fresh.isEmpty()) {
      return Future.failedFuture(LockstepException.conflict("no new instance of service " + service + " runs revision "
          + revision + " (an agent in readiness mode, --readiness-port, reporting it), so there is no set to take from"
          + " the agents; start the new instances first, or upload the set with --migrations"));
    }
    List<String> without = fresh.stream().filter(a -> a.digest() == null).map(AgentStatus::id).toList();
    if (!without.isEmpty()) {
      return Future.failedFuture(new LockstepException(LockstepException.Code.UNPROCESSABLE, "new instance(s) "
          + String.join(", ", without) + " report no migrations digest; start their agents with --migrations pointing at"
          + " the migrations folder of the image"));
    }
    TreeMap<String, List<String>> byDigest = fresh.stream().collect(Collectors.groupingBy(AgentStatus::digest, TreeMap::new,
        Collectors.mapping(AgentStatus::id, Collectors.toList())));
    if (byDigest.size() > 1) {
      return Future.failedFuture(LockstepException.conflict("the new instances on " + revision + " staged different"
          + " migration sets: " + byDigest.entrySet().stream()
              .map(e -> MigrationsDigest.shortForm(e.getKey()) + " (" + String.join(", ", e.getValue()) + ")")
              .collect(Collectors.joining(" vs "))
          + "; one revision must be one build: redeploy them from one image"));
    }
    String digest = byDigest.firstKey();
    return load(digest, revision, System.nanoTime() + SET_WAIT.toNanos());
  }

  private Future<MigrationSet> load(String digest, String revision, long deadline) {
    return sets.load(digest, "the new instances on " + revision).recover(e -> {
      if (!(e instanceof LockstepException missing) || !(missing.code() == LockstepException.Code.NOT_FOUND
          || missing.code() == LockstepException.Code.PRUNED)) {
        return Future.failedFuture(e);
      }
      // Not stored (or pruned since): the next report of a new instance is asked for it.
      staged.forget(digest);
      if (System.nanoTime() > deadline) {
        return Future.failedFuture(LockstepException.conflict("the migration set " + MigrationsDigest.shortForm(digest)
            + " of the new instances on " + revision + " has not reached the coordinator within "
            + SET_WAIT.toSeconds() + " s (each new instance is asked for it in the answer to its report); check the"
            + " agents' logs for 'could not upload', or upload the set with --migrations"));
      }
      return vertx.timer(POLL_MS).compose(v -> load(digest, revision, deadline));
    });
  }
}
