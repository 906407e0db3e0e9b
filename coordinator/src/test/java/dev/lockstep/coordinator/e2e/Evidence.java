package dev.lockstep.coordinator.e2e;

import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a run leaves for whoever reads a failure: {@code evidence.md} in the run's folder (verdicts, the
 * timeline, fence acquisitions, events, hook log, agent lives, the final document), the telling lines of the
 * coordinators' logs put on the timeline, and — for hazard 1 — when each coordinator that started during the
 * release read it, relative to the release's end.
 *
 * <pre>{@code Evidence evidence = new Evidence(run);
 * evidence.importLogMarks();
 * evidence.resumeTimings().forEach(run::note);
 * Path file = evidence.write(violations, results, error);}</pre>
 */
final class Evidence {
  /** Coordinator log lines that say who resumed, locked, took over or was fenced out, and when. */
  private static final java.util.regex.Pattern TELLING = java.util.regex.Pattern.compile(
      "resuming release|took the lock and fence|took over release|fenced out|coordinator stopping|could not reach Redis"
          + "|terminated \\d+ session|coordinator listening");

  private static final java.util.regex.Pattern RESUMED = java.util.regex.Pattern.compile("resuming release (\\S+) of service \\S+ at (\\w+)");

  /** A coordinator that started, read the release unfinished and set out to resume it ({@code resuming release … at PHASE}). */
  record Resume(String coordinator, Phase read, long at) {}

  private final List<Resume> resumes = new ArrayList<>();
  private final CellRun run;

  Evidence(CellRun run) {
    this.run = run;
  }

  /**
   * For each coordinator that resumed the release at start-up: the phase it read, how long before the release
   * first ended it read it, and whether it then took the fence after the end: the timing of hazard 1.
   */
  List<String> resumeTimings() {
    List<String> lines = new ArrayList<>();
    Long end = run.terminalSeenAt();
    for (Resume r : resumes) {
      StringBuilder s = new StringBuilder(r.coordinator() + " read the release at " + r.read() + " when it started ("
          + run.relative(r.at()) + ")");
      if (end != null) {
        s.append(", ").append(end - r.at()).append(" ms before it first ended ").append(run.terminalSnapshot().phase());
        run.acquisitions().stream().filter(a -> a.at() >= end - 200 && a.coordinator().equals(r.coordinator())).findFirst()
            .ifPresent(a -> s.append("; it took the fence (epoch ").append(a.epoch()).append(") ").append(a.at() - end)
                .append(" ms after the end and walked the release from ").append(r.read()).append(" again"));
      }
      lines.add(s.toString());
    }
    return lines;
  }

  /**
   * Adds the telling lines of every coordinator's log to the timeline (their times are this machine's clock in
   * the local zone), so the evidence shows, e.g., which phase a starting coordinator read and when it won the lock.
   */
  void importLogMarks() {
    java.time.ZoneId zone = java.time.ZoneId.systemDefault();
    java.time.LocalDate day = java.time.Instant.ofEpochMilli(run.startedAt).atZone(zone).toLocalDate();
    for (Fleet.Coordinator c : run.fleet.coordinators()) {
      if (!Files.exists(c.log())) {
        continue;
      }
      try {
        for (String line : Files.readAllLines(c.log())) {
          if (line.length() < 13 || !TELLING.matcher(line).find()) {
            continue;
          }
          try {
            java.time.LocalTime time = java.time.LocalTime.parse(line.substring(0, 12));
            long at = time.atDate(day).atZone(zone).toInstant().toEpochMilli();
            if (at < run.startedAt - 60_000) {
              at += 86_400_000L; // the run crossed midnight
            }
            String text = line.substring(13).replaceFirst("^\\w+\\s+\\S+ - ", "");
            run.mark(at, c.name + " log: " + CellRun.abbreviate(text, 200));
            java.util.regex.Matcher resumed = RESUMED.matcher(text);
            if (resumed.find() && resumed.group(1).equals(run.releaseId())) {
              resumes.add(new Resume(c.name, Phase.valueOf(resumed.group(2)), at));
            }
          } catch (java.time.format.DateTimeParseException notALogLine) {
            // a stack trace or a line of the JVM's own
          }
        }
      } catch (IOException e) {
        run.mark(c.name + " log unreadable: " + e.getMessage());
      }
    }
  }

  /** Writes {@code evidence.md} in the run's folder: verdicts, timeline, fence, events, hooks, final document. */
  Path write(List<String> violations, List<Invariants.Result> results, Throwable error) {
    Path file = run.dir.resolve("evidence.md");
    StringBuilder md = new StringBuilder();
    md.append("# ").append(run.cell.name()).append(" #").append(run.repetition).append("\n\n");
    md.append("Service ").append(run.fleet.service).append(", database ").append(run.db.name()).append(", Redis ")
        .append(run.fleet.redisUrl()).append(", release ").append(run.releaseId()).append(". Times are relative to the fault")
        .append(run.faultAt() == null ? " (none: to the run's start)" : "").append(".\n\n");
    md.append(violations.isEmpty() ? "**Passed.**\n" : "**Failed:**\n\n");
    violations.forEach(v -> md.append("- ").append(v).append('\n'));
    if (error != null) {
      java.io.StringWriter trace = new java.io.StringWriter();
      error.printStackTrace(new java.io.PrintWriter(trace));
      md.append("\n```\n").append(trace).append("```\n");
    }
    md.append("\n## Invariants\n\n");
    results.forEach(r -> md.append("- ").append(r.ok() ? "ok" : "**broken**").append(": ").append(r.name()).append('\n'));
    md.append("\n## Timeline\n\n");
    run.timeline().forEach(m -> md.append("- ").append(run.relative(m.at())).append(" ").append(m.what()).append('\n'));
    md.append("\n## Fence acquisitions\n\n");
    run.acquisitions().forEach(a -> md.append("- epoch ").append(a.epoch()).append(" by ").append(a.coordinator()).append(" (")
        .append(a.holder()).append(") at ").append(run.relative(a.at())).append('\n'));
    if (run.releaseId() != null) {
      md.append("\n## Events\n\n");
      try {
        run.events().forEach(e -> md.append("- #").append(e.seq()).append(" ").append(run.relative(e.at())).append(" ")
            .append(e.phase()).append(": ").append(e.message()).append('\n'));
      } catch (RuntimeException e) {
        md.append("(could not read: ").append(e.getMessage()).append(")\n");
      }
    }
    md.append("\n## Hook log\n\n");
    for (String line : run.fleet.hookLines()) {
      String[] f = line.split(" ", 2);
      try {
        md.append("- ").append(run.relative(Long.parseLong(f[0]))).append(" ").append(f.length > 1 ? f[1] : "").append('\n');
      } catch (NumberFormatException e) {
        md.append("- ").append(line).append('\n');
      }
    }
    md.append("\n## Agent lives\n\n");
    run.fleet.agentIds().forEach(id -> md.append("- ").append(id).append(": started at ")
        .append(run.fleet.agentStarts(id).stream().map(run::relative).toList()).append(", deployed ")
        .append(run.fleet.deployedRevision(id)).append('\n'));
    if (run.releaseId() != null) {
      try {
        ReleaseDocument d = run.doc();
        md.append("\n## Final release document\n\n```json\n").append(d == null ? "null" : Json.write(d)).append("\n```\n");
      } catch (RuntimeException e) {
        md.append("\n(could not read the document: ").append(e.getMessage()).append(")\n");
      }
    }
    md.append("\nLogs: ").append(run.fleet.coordinators().stream().map(c -> c.log().getFileName().toString()).toList())
        .append(", agent-*.log, hooks.log in ").append(run.dir).append('\n');
    try {
      Files.createDirectories(run.dir);
      Files.writeString(file, md);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }
}
