package dev.lockstep.bench.fleet;

import dev.lockstep.protocol.Phase;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the simulated agents saw, shared by all of them: report latencies by period of the run (cold start, steady
 * state, status load, release), when each agent's first report was accepted, and when each agent learned a phase of
 * the release (the moment its blocking query's answer naming that phase was decoded). Written from the agents' event
 * loops, read by the bench between periods.
 */
public final class FleetProbe {
  private final Map<String, Latencies> reports = new ConcurrentHashMap<>();
  private volatile String period = "cold start";
  private final long[] registeredNanos;
  private final AtomicInteger registered = new AtomicInteger();
  /** Wall-clock microseconds since the epoch, per agent and phase; 0 until learned. */
  private final Map<Phase, long[]> learned = new ConcurrentHashMap<>();
  private final AtomicLong digestMismatches = new AtomicLong();
  private final AtomicLong pollFailures = new AtomicLong();
  private final AtomicInteger switched = new AtomicInteger();
  /** Wall-clock microseconds at which each agent switched (its switch time if it had one and learned it early); 0: not. */
  private final long[] switchedMicros;

  public FleetProbe(int agents) {
    registeredNanos = new long[agents];
    switchedMicros = new long[agents];
    for (Phase phase : new Phase[] {Phase.PREPARING, Phase.SWITCHING}) {
      learned.put(phase, new long[agents]);
    }
  }

  /** Reports sent from now on are counted under {@code name}. */
  public void period(String name) {
    period = name;
  }

  public String period() {
    return period;
  }

  public Latencies reports(String periodName) {
    return reports.computeIfAbsent(periodName, p -> new Latencies());
  }

  public Map<String, Latencies> reports() {
    return reports;
  }

  void registered(int agent, long nanos) {
    synchronized (registeredNanos) {
      if (registeredNanos[agent] == 0) {
        registeredNanos[agent] = nanos;
        registered.incrementAndGet();
      }
    }
  }

  public int registeredCount() {
    return registered.get();
  }

  /** {@code System.nanoTime()} of each agent's first accepted report (0: none yet). */
  public long[] registeredNanos() {
    synchronized (registeredNanos) {
      return registeredNanos.clone();
    }
  }

  /** Records the first time {@code agent} learned {@code phase} (or a later one, for SWITCHING); later calls do nothing. */
  void learned(int agent, Phase phase, Instant at) {
    long[] times = learned.get(phase);
    if (times != null && times[agent] == 0) {
      times[agent] = micros(at);
    }
  }

  /** Epoch microseconds at which each agent learned {@code phase}, of those that did. */
  public long[] learned(Phase phase) {
    return Arrays.stream(learned.get(phase)).filter(t -> t != 0).toArray();
  }

  public void resetLearned() {
    learned.values().forEach(times -> Arrays.fill(times, 0));
    switched.set(0);
    Arrays.fill(switchedMicros, 0);
  }

  void digestMismatch() {
    digestMismatches.incrementAndGet();
  }

  public long digestMismatches() {
    return digestMismatches.get();
  }

  void pollFailed() {
    pollFailures.incrementAndGet();
  }

  public long pollFailures() {
    return pollFailures.get();
  }

  void switched(int agent, Instant at) {
    switchedMicros[agent] = micros(at);
    switched.incrementAndGet();
  }

  private static long micros(Instant at) {
    return at.getEpochSecond() * 1_000_000 + at.getNano() / 1_000;
  }

  /** Epoch microseconds at which each agent switched, of those that did. */
  public long[] switchedMicros() {
    return Arrays.stream(switchedMicros).filter(t -> t != 0).toArray();
  }

  public int switchedCount() {
    return switched.get();
  }
}
