package dev.lockstep.bench.fleet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * CPU and resident memory of one process, from {@code /proc/<pid>/stat} (utime + stime, in clock ticks) and {@code
 * /proc/<pid>/status} ({@code VmRSS}), sampled every {@code periodMs} on a thread of its own. A window's CPU is the
 * ticks spent between its first and last sample over the wall time between them, in % of one core (200 % is both
 * cores of this machine). Each sample is tagged with the period of the run it fell in.
 */
public final class ProcessMeter implements AutoCloseable {
  /** Clock ticks per second; {@code getconf CLK_TCK} is 100 on Linux. */
  private static final double TICKS_PER_SECOND = 100.0;

  /** One sample: when (System.nanoTime), CPU ticks so far, resident KB, and the period it was taken in. */
  public record Sample(long nanos, long ticks, long rssKb, String period) {}

  /** CPU % of one core and RSS (MB) over a period: mean and peak CPU between consecutive samples, RSS max. */
  public record Usage(double cpuMeanPercent, double cpuPeakPercent, double rssMaxMb, double rssLastMb) {}

  private final long pid;
  private final List<Sample> samples = new ArrayList<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "process-meter");
    t.setDaemon(true);
    return t;
  });
  private volatile String period = "idle";

  public ProcessMeter(long pid, long periodMs) {
    this.pid = pid;
    timer.scheduleAtFixedRate(this::sample, 0, periodMs, TimeUnit.MILLISECONDS);
  }

  public void period(String name) {
    period = name;
    sample();
  }

  private synchronized void sample() {
    try {
      long ticks = ticks(pid);
      long rss = rssKb(pid);
      samples.add(new Sample(System.nanoTime(), ticks, rss, period));
    } catch (IOException | RuntimeException e) {
      // The process ended: nothing more to sample.
    }
  }

  /** Usage over the samples of {@code periodName}, or of all samples when null. */
  public synchronized Usage usage(String periodName) {
    List<Sample> in = samples.stream().filter(s -> periodName == null || s.period().equals(periodName)).toList();
    if (in.isEmpty()) {
      return new Usage(Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }
    double peak = 0;
    for (int i = 1; i < in.size(); i++) {
      peak = Math.max(peak, percent(in.get(i - 1), in.get(i)));
    }
    Sample first = in.get(0);
    Sample last = in.get(in.size() - 1);
    double mean = in.size() < 2 ? Double.NaN : percent(first, last);
    double rssMax = in.stream().mapToLong(Sample::rssKb).max().orElse(0) / 1024.0;
    return new Usage(mean, in.size() < 2 ? Double.NaN : peak, rssMax, last.rssKb() / 1024.0);
  }

  private static double percent(Sample a, Sample b) {
    double seconds = (b.nanos() - a.nanos()) / 1e9;
    return seconds <= 0 ? 0 : (b.ticks() - a.ticks()) / TICKS_PER_SECOND / seconds * 100.0;
  }

  /** utime + stime: fields 14 and 15 of {@code /proc/<pid>/stat}, counted after the command name's closing ')'. */
  static long ticks(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
  }

  /** {@code VmRSS} of {@code /proc/<pid>/status}, in KB. */
  static long rssKb(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IOException("no VmRSS for process " + pid);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
