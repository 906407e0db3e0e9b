package dev.lockstep.bench.fleet;

import java.util.Arrays;

/**
 * Order statistics of a sample (latencies in ms, or times relative to the first): nearest-rank percentiles, so
 * {@code p99} of 100 values is the 99th smallest and {@code max} is never interpolated away.
 *
 * <pre>{@code Summary s = Summary.of(new double[] {3, 1, 2});   // min 1, median 2, p99 3, max 3}</pre>
 *
 * @param count how many values
 * @param min the smallest; NaN when empty
 * @param median nearest-rank 50th percentile
 * @param p99 nearest-rank 99th percentile
 * @param max the largest
 * @param mean the arithmetic mean
 */
public record Summary(int count, double min, double median, double p99, double max, double mean) {
  public static final Summary EMPTY = new Summary(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);

  public static Summary of(double[] values) {
    if (values.length == 0) {
      return EMPTY;
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    double sum = 0;
    for (double v : sorted) {
      sum += v;
    }
    return new Summary(sorted.length, sorted[0], percentile(sorted, 50), percentile(sorted, 99),
        sorted[sorted.length - 1], sum / sorted.length);
  }

  /** Nearest rank: the smallest value with at least {@code p} % of the sample at or below it. */
  static double percentile(double[] sorted, double p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
  }

  /** The values shifted so the smallest is 0: "relative to the first". */
  public static double[] relativeToFirst(double[] values) {
    double first = Arrays.stream(values).min().orElse(0);
    return Arrays.stream(values).map(v -> v - first).toArray();
  }
}
