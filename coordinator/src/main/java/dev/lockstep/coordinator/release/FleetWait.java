package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Waits for the participants of a release to get through PREPARING or SWITCHING. Woken by agents'
 * reports (a nudge from whichever coordinator received one), with a slow re-read of the registry as
 * the fallback for a lost nudge. Each agent's progress becomes an event, so operators watch it live.
 */
public final class FleetWait {
  private static final Logger log = LoggerFactory.getLogger(FleetWait.class);
  /** The re-read {@code serve} uses when no nudge comes: a nudge lost with a Redis blip costs at most this. */
  public static final Duration DEFAULT_FALLBACK = Duration.ofSeconds(1);

  /**
   * What one wait is for: how to judge the reports, how to describe an agent that is through, which participants it
   * waits for at all (a retiring instance in an online PREPARING is not asked anything), how to stop.
   */
  record Goal(Phase phase, Duration timeout, Judge judge, Function<ReleaseAgent, String> through,
              Predicate<ReleaseAgent> awaited, Function<String, LockstepException> stop,
              BiFunction<ReleaseDocument, ReleaseDocument, String> tells) {
    /** A goal whose progress never changes what the fleet is told. */
    Goal(Phase phase, Duration timeout, Judge judge, Function<ReleaseAgent, String> through,
         Predicate<ReleaseAgent> awaited, Function<String, LockstepException> stop) {
      this(phase, timeout, judge, through, awaited, stop, (before, after) -> null);
    }
  }

  /** Judges the participants from the agents' reports and the ephemeral agents that went ({@link FleetCheck}). */
  @FunctionalInterface
  interface Judge {
    FleetCheck.Progress apply(List<ReleaseAgent> participants, Map<String, AgentStatus> reports,
                              Map<String, AgentRegistry.Departure> departed);
  }

  private final AgentRegistry registry;
  private final Nudges nudges;
  private final Clock clock;
  private final Duration lostAfter;
  private final Duration fallback;

  public FleetWait(AgentRegistry registry, Nudges nudges, Clock clock, Duration lostAfter) {
    this(registry, nudges, clock, lostAfter, DEFAULT_FALLBACK);
  }

  /** {@code fallback}: how long a round waits for a nudge before it reads the registry again anyway. */
  public FleetWait(AgentRegistry registry, Nudges nudges, Clock clock, Duration lostAfter, Duration fallback) {
    this.registry = registry;
    this.nudges = nudges;
    this.clock = clock;
    this.lostAfter = lostAfter;
    this.fallback = fallback;
  }

  /** Completes with the release as stored once every participant is through; fails with the goal's stop reason. */
  Future<ReleaseDocument> await(Goal goal, Attempt attempt) {
    return poll(goal, attempt, clock.millis() + goal.timeout().toMillis(), new HashMap<>());
  }

  private Future<ReleaseDocument> poll(Goal goal, Attempt attempt, long deadline, Map<String, Long> unregisteredSince) {
    ReleaseJournal journal = attempt.journal();
    String service = journal.stored().service();
    long roundStarted = System.nanoTime();
    // Listen before reading, so a report that lands during the read still wakes the next round.
    Future<Void> woken = nudges.next(Nudges.RUN_INPUT, service, fallback.toMillis());
    return Future.<Void>succeededFuture()
        .compose(v -> {
          attempt.checkStopping("during " + goal.phase());
          return goal.phase() == Phase.PREPARING ? journal.abortRequested() : Future.succeededFuture(false);
        })
        .compose(abort -> abort
            ? Future.failedFuture(LockstepException.aborted("aborted by the operator during " + goal.phase()))
            : registry.list(service))
        .compose(list -> departures(service, journal.stored(), list).compose(departed -> record(goal, journal, list, departed)))
        .recover(e -> {
          if (e instanceof LockstepException) {
            return Future.failedFuture(e);
          }
          log.warn("release {}: could not read the fleet during {} ({}); retrying", journal.stored().id(), goal.phase(),
              e.getMessage());
          return Future.succeededFuture(null);
        })
        .compose(progress -> {
          if (progress != null) {
            if (progress.failure() != null) {
              return Future.failedFuture(goal.stop().apply(progress.failure()));
            }
            String gone = unregisteredTooLong(progress.unregistered(), goal.phase(), unregisteredSince);
            if (gone != null) {
              return Future.failedFuture(goal.stop().apply(gone));
            }
            if (progress.done()) {
              return Future.succeededFuture(journal.stored());
            }
            if (clock.millis() > deadline) {
              String waiting = progress.agents().stream()
                  .filter(a -> !a.gone() && goal.awaited().test(a) && goal.through().apply(a) == null)
                  .map(a -> a.id() + " (" + a.state().wireName() + ")").collect(Collectors.joining(", "));
              String within = " within " + Durations.format(goal.timeout());
              return Future.failedFuture(goal.stop().apply(waiting.isEmpty()
                  ? progress.shortfall() + within
                  : "agent(s) " + waiting + " did not finish " + goal.phase() + within
                      + (progress.shortfall() == null ? "" : "; " + progress.shortfall())));
            }
          }
          long took = System.nanoTime() - roundStarted;
          return woken.compose(v -> rested(roundStarted + took, took))
              .compose(v -> poll(goal, attempt, deadline, unregisteredSince));
        });
  }

  /**
   * Once woken, the next round waits until the run has rested as long as the last round took: a round reads and judges
   * the whole fleet, and a thousand agents reporting in one second would otherwise start a round every few milliseconds
   * on the event loop their reports need. Self-tuning: a round of a few agents takes a millisecond and waits nothing
   * more; one of thousands takes tens of milliseconds, and the run then spends at most half of its time in rounds.
   */
  private Future<Void> rested(long roundEnded, long took) {
    long restMs = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(roundEnded + took - System.nanoTime());
    if (restMs < 2) {
      return Future.succeededFuture();
    }
    return nudges.pause(restMs);
  }

  /**
   * The ephemeral agents that went, read only when a participant is missing from the registry: the common round, where
   * every participant is registered, costs one read.
   */
  private Future<Map<String, AgentRegistry.Departure>> departures(String service, ReleaseDocument doc,
                                                                  List<AgentStatus> list) {
    java.util.Set<String> registered = list.stream().map(AgentStatus::id).collect(Collectors.toSet());
    boolean missing = doc.agents().stream().anyMatch(a -> !a.gone() && !registered.contains(a.id()));
    return missing ? registry.departures(service) : Future.succeededFuture(Map.of());
  }

  /** Judges the reports and stores what changed, with one event naming the agents newly through, joined or gone. */
  private Future<FleetCheck.Progress> record(Goal goal, ReleaseJournal journal, List<AgentStatus> list,
                                             Map<String, AgentRegistry.Departure> departed) {
    ReleaseDocument doc = journal.stored();
    Map<String, AgentStatus> reports = list.stream().collect(Collectors.toMap(AgentStatus::id, a -> a));
    FleetCheck.Progress progress = goal.judge().apply(doc.agents(), reports, departed);
    if (progress.agents().equals(doc.agents())) {
      return Future.succeededFuture(progress);
    }
    Map<String, ReleaseAgent> before = doc.agents().stream().collect(Collectors.toMap(ReleaseAgent::id, a -> a));
    List<String> news = new ArrayList<>();
    for (ReleaseAgent a : progress.agents()) {
      ReleaseAgent was = before.get(a.id());
      if (was == null) {
        news.add(a.id() + " joined (" + a.role().wireName() + " instance on " + reports.get(a.id()).revision() + ")");
      } else if (a.gone() && !was.gone()) {
        news.add(a.id() + " went: " + a.detail());
      }
      String now = a.gone() ? null : goal.through().apply(a);
      if (now != null && (was == null || goal.through().apply(was) == null)) {
        news.add(now);
      }
    }
    List<ReleaseAgent> awaited = progress.agents().stream().filter(a -> !a.gone() && goal.awaited().test(a)).toList();
    long through = awaited.stream().filter(a -> goal.through().apply(a) != null).count();
    String event = news.isEmpty() ? null : goal.phase() + ": " + summary(news, through, awaited.size());
    ReleaseDocument next = doc.toBuilder().agents(progress.agents()).build();
    // Progress that changes what the fleet is told (the retiring instances may stop now) is published with it.
    String told = goal.tells().apply(doc, next);
    if (told == null) {
      return journal.write(next, event).map(progress);
    }
    return journal.tell(next, (event == null ? goal.phase() + ": " : event + "; ") + told, false).map(progress);
  }

  /**
   * The news of one round: each named while they are few; for a fleet that moves in thousands, counted, with the first
   * few named, so an event stays a line and the log does not grow with the fleet. Every agent's own progress is in the
   * release document.
   */
  static String summary(List<String> news, long through, int awaited) {
    if (news.size() <= NAMED) {
      return String.join(", ", news) + " (" + through + "/" + awaited + ")";
    }
    return String.format(java.util.Locale.ROOT, "%,d of %,d through, %,d more since the last event (%s, and %,d more;"
        + " the release document lists every agent)", through, awaited, news.size(),
        String.join(", ", news.subList(0, SHOWN)), news.size() - SHOWN);
  }

  /** An event names at most this many agents' news; past that it counts them. */
  static final int NAMED = 8;
  private static final int SHOWN = 3;

  /**
   * An agent missing from the registry may be back in a moment (Redis restarted and lost the registry;
   * agents report every two seconds): only one missing for longer than the liveness timeout stops the release.
   */
  private String unregisteredTooLong(List<String> unregistered, Phase phase, Map<String, Long> since) {
    long now = clock.millis();
    since.keySet().retainAll(unregistered);
    for (String id : unregistered) {
      long first = since.computeIfAbsent(id, k -> now);
      if (now - first > lostAfter.toMillis()) {
        return "agent " + id + " has not been in the registry for " + Durations.format(Duration.ofMillis(now - first))
            + " during " + phase + " (removed by an operator, or Redis lost the registry and the agent has not reported since)";
      }
    }
    return null;
  }
}
