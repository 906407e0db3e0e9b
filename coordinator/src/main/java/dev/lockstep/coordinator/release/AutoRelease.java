package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.ReleaseRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Release on arrival ({@code serve --auto-release}): when instances in readiness mode appear on a revision that no
 * release of the service has brought (whatever that release's end), and no release is in progress, the coordinator
 * starts the release to that revision itself, with the set the new instances staged ({@code --migrations-from
 * agents}), requested by {@value #REQUESTED_BY}. So a {@code helm upgrade} that brings pods of a new image is all it
 * takes: their agents appear, the release runs, and they turn ready at its switch. Every guard of a release started
 * by hand applies, because it is one: {@link ReleaseService#start}. A revision whose release failed is not tried again
 * by itself: the operator fixes it and releases by hand, or ships another revision.
 *
 * <p>Looks every {@code every} (the orphan scan's period). Several coordinator instances may look at once; the
 * database lets one release start per service and the others are told so.
 */
public final class AutoRelease {
  private static final Logger log = LoggerFactory.getLogger(AutoRelease.class);
  /** The audit name of a release started on arrival. */
  public static final String REQUESTED_BY = "auto";

  private final Vertx vertx;
  private final String service;
  private final AgentRegistry registry;
  private final ReleaseStore store;
  private final ReleaseService releases;
  private final Duration every;
  private final String instanceId;
  private long timer = -1;
  private boolean looking;
  /** The last thing said about why nothing started, so it is said once, not every few seconds. */
  private String lastSaid;

  public AutoRelease(Vertx vertx, String service, AgentRegistry registry, ReleaseStore store, ReleaseService releases,
                     Duration every, String instanceId) {
    this.vertx = vertx;
    this.service = service;
    this.registry = registry;
    this.store = store;
    this.releases = releases;
    this.every = every;
    this.instanceId = instanceId;
  }

  public void start() {
    log.info("release on arrival (--auto-release): a revision that appears on instances in readiness mode is released"
        + " with their migration set, looking every {} ms", every.toMillis());
    timer = vertx.setPeriodic(every.toMillis(), t -> look());
  }

  public void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  private void look() {
    if (looking) {
      return;
    }
    looking = true;
    store.active(service)
        .compose(active -> active.isPresent() ? Future.succeededFuture() : arrivals())
        .onFailure(e -> say("release on arrival could not look at service " + service + ": " + e.getMessage()))
        .onComplete(done -> {
          looking = false;
          log.debug("release on arrival: looked at service {}", service);
        });
  }

  private Future<Void> arrivals() {
    return registry.list(service).compose(agents -> store.releasedRevisions(service).compose(released -> {
      Map<String, Long> unreleased = unreleased(agents, released);
      if (unreleased.isEmpty()) {
        lastSaid = null;
        return Future.succeededFuture();
      }
      if (unreleased.size() > 1) {
        say("instances on " + unreleased.size() + " revisions that no release brought ("
            + unreleased.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).collect(Collectors.joining(", "))
            + "); not releasing any of them by itself: release one by hand");
        return Future.succeededFuture();
      }
      String revision = unreleased.keySet().iterator().next();
      return releases.start(ReleaseRequest.of(revision, null).fromAgents(), REQUESTED_BY, "coordinator " + instanceId)
          .onSuccess(doc -> {
            lastSaid = null;
            log.info("release on arrival: {} new instance(s) on revision {} no release brought; started release {}",
                unreleased.get(revision), revision, doc.id());
          })
          .recover(e -> {
            if (e instanceof LockstepException refused && refused.code() == LockstepException.Code.CONFLICT
                && e.getMessage().contains("already has release")) {
              return Future.succeededFuture(); // another coordinator instance started it first
            }
            say("release on arrival of revision " + revision + " refused: " + e.getMessage());
            return Future.succeededFuture();
          })
          .mapEmpty();
    }));
  }

  /** Revisions of live readiness-mode agents that no release brought, with how many agents run each. */
  static Map<String, Long> unreleased(List<AgentStatus> agents, Set<String> released) {
    return agents.stream()
        .filter(a -> a.readinessMode() && a.state() != dev.lockstep.protocol.AgentState.LOST)
        .filter(a -> !released.contains(a.revision()))
        .collect(Collectors.groupingBy(AgentStatus::revision, TreeMap::new, Collectors.counting()));
  }

  private void say(String text) {
    if (!text.equals(lastSaid)) {
      lastSaid = text;
      log.warn(text);
    }
  }
}
