package dev.lockstep.bench.cost;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Median, minimum and maximum of repeated measurements (milliseconds or counts). */
record Stats(long median, long min, long max, int n) {
  static Stats of(List<Long> values) {
    if (values.isEmpty()) {
      return new Stats(0, 0, 0, 0);
    }
    List<Long> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int n = sorted.size();
    long median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    return new Stats(median, sorted.get(0), sorted.get(n - 1), n);
  }

  /** The stats of {@code key} over runs that have it. */
  static Stats of(List<Map<String, Long>> runs, String key) {
    return of(runs.stream().filter(r -> r.containsKey(key)).map(r -> r.get(key)).toList());
  }

  /** Every key of the runs, each with its stats, in first-seen order. */
  static Map<String, Stats> all(List<Map<String, Long>> runs) {
    Map<String, Stats> out = new LinkedHashMap<>();
    for (Map<String, Long> r : runs) {
      for (String k : r.keySet()) {
        out.computeIfAbsent(k, key -> of(runs, key));
      }
    }
    return out;
  }

  /** {@code 1.23 s (1.10–1.40)} for milliseconds. */
  String seconds() {
    return n == 0 ? "-" : n == 1 ? s(median) : s(median) + String.format(" (%.2f–%.2f)", min / 1000.0, max / 1000.0);
  }

  String count() {
    return n == 0 ? "-" : min == max ? Long.toString(median) : median + " (" + min + "–" + max + ")";
  }

  static String s(long ms) {
    return String.format("%.2f s", ms / 1000.0);
  }
}
