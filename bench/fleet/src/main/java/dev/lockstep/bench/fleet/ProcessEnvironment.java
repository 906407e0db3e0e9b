package dev.lockstep.bench.fleet;

import java.util.Map;

/**
 * The environment the README recommends beside the JVM flags, given to the coordinators and real agents the bench
 * starts: {@code MALLOC_ARENA_MAX=2} (glibc keeps fewer malloc arenas: 5,000 agents' coordinator 244–246 MB resident at
 * the peak against 258 MB without, docs/benchmarks.md). A value already in the bench's own environment wins, and an
 * empty one leaves it unset (glibc's default, 8 per core): {@code MALLOC_ARENA_MAX= bench/run …} measures without it.
 */
final class ProcessEnvironment {
  static final String MALLOC_ARENA_MAX = "MALLOC_ARENA_MAX";
  static final String RECOMMENDED_ARENAS = "2";

  private ProcessEnvironment() {}

  /** The value the started processes get; empty: none, glibc's default. */
  static String mallocArenaMax() {
    return System.getenv().getOrDefault(MALLOC_ARENA_MAX, RECOMMENDED_ARENAS);
  }

  static ProcessBuilder applied(ProcessBuilder builder) {
    Map<String, String> env = builder.environment();
    String arenas = mallocArenaMax();
    if (arenas.isEmpty()) {
      env.remove(MALLOC_ARENA_MAX);
    } else {
      env.put(MALLOC_ARENA_MAX, arenas);
    }
    return builder;
  }
}
