package dev.lockstep.bench.fleet;

import java.util.Arrays;

/**
 * Latencies (ms) and failures of one kind of request in one period of the run, recorded from any thread. Failures
 * are split into timeouts (the client's own deadline passed) and the rest (refused, reset, 5xx).
 */
public final class Latencies {
  private double[] values = new double[1024];
  private int size;
  private long timeouts;
  private long errors;

  public synchronized void record(double ms) {
    if (size == values.length) {
      values = Arrays.copyOf(values, size * 2);
    }
    values[size++] = ms;
  }

  public synchronized void timeout() {
    timeouts++;
  }

  public synchronized void error() {
    errors++;
  }

  public synchronized double[] values() {
    return Arrays.copyOf(values, size);
  }

  public synchronized long timeouts() {
    return timeouts;
  }

  public synchronized long errors() {
    return errors;
  }

  public Summary summary() {
    return Summary.of(values());
  }
}
