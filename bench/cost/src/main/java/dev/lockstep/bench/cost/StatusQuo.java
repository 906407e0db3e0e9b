package dev.lockstep.bench.cost;

import java.io.PrintStream;
import java.util.Map;

final class StatusQuo {
  StatusQuo(Setup setup, PrintStream out) {}

  Map<String, Object> run(Chain.Tool tool, int reps) {
    return Map.of();
  }

  static void print(PrintStream out, Map<String, Object> q) {}
}
