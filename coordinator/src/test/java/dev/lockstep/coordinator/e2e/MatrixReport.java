package dev.lockstep.coordinator.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The matrix's results: per cell, runs, passes and the recovery times, written as a Markdown table (and the
 * failures in detail below it) to {@code target/fault-matrix.md} after every run, so an interrupted long run
 * still leaves what it found. The table is made to be pasted into {@code docs/reliability.md}.
 */
final class MatrixReport {
  private final Path file;
  private final int repetitions;
  private final String filter;
  private final long started = System.currentTimeMillis();
  private final Map<String, List<RunResult>> byCell = new LinkedHashMap<>();
  private final Map<String, Cell> cells = new LinkedHashMap<>();

  /**
   * One run's verdict.
   *
   * @param violations what failed, each prefixed by the invariant or expectation it breaks
   * @param takeoverMs fault → another coordinator took the fence (null: none did)
   * @param firstEventMs fault → the first release event written after it
   * @param terminalMs fault → the release first seen terminal
   * @param load the machine's 1-minute load average when the fault struck (it has two cores, shared)
   * @param durationMs the whole run, fleet start and teardown included
   */
  record RunResult(Cell cell, int repetition, List<String> violations, Long takeoverMs, Long firstEventMs, Long terminalMs,
                   String outcome, String load, List<String> notes, Path evidence, long durationMs) {
    boolean passed() {
      return violations.isEmpty();
    }
  }

  MatrixReport(Path file, int repetitions, String filter) {
    this.file = file;
    this.repetitions = repetitions;
    this.filter = filter;
  }

  void plan(List<Cell> planned) {
    for (Cell c : planned) {
      cells.put(c.name(), c);
      byCell.putIfAbsent(c.name(), new ArrayList<>());
    }
  }

  synchronized void add(RunResult result) {
    byCell.computeIfAbsent(result.cell().name(), k -> new ArrayList<>()).add(result);
    cells.putIfAbsent(result.cell().name(), result.cell());
    write();
  }

  synchronized void write() {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, markdown());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String markdown() {
    StringBuilder md = new StringBuilder();
    int runs = byCell.values().stream().mapToInt(List::size).sum();
    long passes = byCell.values().stream().flatMap(List::stream).filter(RunResult::passed).count();
    md.append("# Fault matrix results\n\n");
    md.append("Run ").append(DateTimeFormatter.ISO_LOCAL_DATE_TIME.withZone(ZoneOffset.UTC).format(Instant.ofEpochMilli(started)))
        .append(" UTC on ").append(gitRevision()).append(", ").append(repetitions).append(" repetition(s) per cell")
        .append(filter.isBlank() ? "" : ", cells matching `" + filter + "`").append(": ").append(passes).append(" of ")
        .append(runs).append(" runs passed, ").append(String.format("%.1f", (System.currentTimeMillis() - started) / 60_000.0))
        .append(" min.\n\n");
    md.append("Times are from the fault (the kill, the signal, the restart, the request) to: another coordinator holding"
        + " the fence (takeover), the first release event written after the fault, and the release first seen terminal;"
        + " median / max over the runs, in seconds. *load*: the machine's 1-minute load average when the fault struck"
        + " (2 cores, shared with other work); *run*: the whole run, fleet start and teardown included.\n\n");
    md.append("| cell | hazard | runs | passed | takeover | first event | terminal | outcome | load | run | what failed |\n");
    md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
    byCell.forEach((name, results) -> {
      Cell cell = cells.get(name);
      md.append("| ").append(escape(name)).append(" | ").append(cell.hazard() == null ? "" : cell.hazard().number)
          .append(" | ").append(results.size()).append(" | ").append(results.stream().filter(RunResult::passed).count())
          .append(" | ").append(stat(results.stream().map(RunResult::takeoverMs).toList()))
          .append(" | ").append(stat(results.stream().map(RunResult::firstEventMs).toList()))
          .append(" | ").append(stat(results.stream().map(RunResult::terminalMs).toList()))
          .append(" | ").append(outcomes(results))
          .append(" | ").append(loads(results))
          .append(" | ").append(stat(results.stream().map(r -> (Long) r.durationMs()).toList()))
          .append(" | ").append(escape(failures(results))).append(" |\n");
    });
    List<RunResult> failed = byCell.values().stream().flatMap(List::stream).filter(r -> !r.passed()).toList();
    if (!failed.isEmpty()) {
      md.append("\n## Failed runs\n");
      for (RunResult r : failed) {
        md.append("\n### ").append(r.cell().name()).append(" #").append(r.repetition()).append("\n\n");
        r.violations().forEach(v -> md.append("- ").append(v).append('\n'));
        if (!r.notes().isEmpty()) {
          md.append("\nNotes:\n");
          r.notes().forEach(n -> md.append("- ").append(n).append('\n'));
        }
        md.append("\nEvidence (timeline, events, hook log, final document): `").append(r.evidence()).append("`\n");
      }
    }
    return md.toString();
  }

  private static String loads(List<RunResult> results) {
    List<Double> loads = results.stream().map(RunResult::load).filter(l -> l != null && !l.equals("?")).map(Double::valueOf).sorted().toList();
    if (loads.isEmpty()) {
      return "—";
    }
    return loads.size() == 1 ? String.format("%.1f", loads.get(0))
        : String.format("%.1f–%.1f", loads.get(0), loads.get(loads.size() - 1));
  }

  private static String outcomes(List<RunResult> results) {
    Map<String, Long> counts = results.stream().collect(Collectors.groupingBy(r -> String.valueOf(r.outcome()),
        LinkedHashMap::new, Collectors.counting()));
    return counts.entrySet().stream().map(e -> e.getKey() + (counts.size() > 1 || e.getValue() > 1 ? " ×" + e.getValue() : ""))
        .collect(Collectors.joining(", "));
  }

  /** The distinct invariants a cell's runs broke, with how many runs broke each. */
  private static String failures(List<RunResult> results) {
    Map<String, Long> counts = results.stream().flatMap(r -> r.violations().stream().map(v -> v.contains(":") ? v.substring(0, v.indexOf(':')) : v)
        .distinct()).collect(Collectors.groupingBy(v -> v, LinkedHashMap::new, Collectors.counting()));
    return counts.entrySet().stream().map(e -> e.getKey() + " (" + e.getValue() + ")").collect(Collectors.joining("; "));
  }

  private static String stat(List<Long> values) {
    List<Long> present = values.stream().filter(Objects::nonNull).sorted().toList();
    if (present.isEmpty()) {
      return "—";
    }
    long median = present.get((present.size() - 1) / 2);
    long max = present.get(present.size() - 1);
    return present.size() == 1 ? seconds(median) : seconds(median) + " / " + seconds(max);
  }

  private static String seconds(long ms) {
    return String.format("%.1f", ms / 1000.0);
  }

  private static String escape(String text) {
    return text.replace("|", "\\|");
  }

  private static String gitRevision() {
    try {
      Process p = new ProcessBuilder("git", "rev-parse", "--short", "HEAD").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      Process dirty = new ProcessBuilder("git", "status", "--porcelain", "--untracked-files=no").redirectErrorStream(true).start();
      boolean changed = !new String(dirty.getInputStream().readAllBytes()).isBlank();
      return p.waitFor() == 0 ? "commit " + out + (changed ? " (with local changes)" : "") : "an unknown commit";
    } catch (IOException e) {
      return "an unknown commit";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "an unknown commit";
    }
  }
}
