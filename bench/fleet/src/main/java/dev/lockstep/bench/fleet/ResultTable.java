package dev.lockstep.bench.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/** The human table: one row per figure, one column per fleet size; then the real agents. */
final class ResultTable {
  private ResultTable() {}

  static String render(JsonNode result) {
    StringBuilder out = new StringBuilder();
    JsonNode machine = result.path("machine");
    out.append(String.format(Locale.ROOT, "%nmachine: %d cores, %s, %d MB; load at start %s%n",
        machine.path("cores").asInt(), machine.path("cpuModel").asText(), machine.path("memTotalMb").asLong(),
        machine.path("loadAverage").asText()));
    String arenas = result.path("flags").path("mallocArenaMax").asText("");
    out.append("coordinator JVM: ").append(result.path("flags").path("coordinatorJvm"))
        .append("; MALLOC_ARENA_MAX=").append(arenas.isEmpty() ? "(unset)" : arenas).append('\n');
    List<JsonNode> fleets = new ArrayList<>();
    result.path("fleets").forEach(fleets::add);
    if (!fleets.isEmpty()) {
      List<String[]> rows = new ArrayList<>();
      rows.add(header(fleets));
      row(rows, fleets, "cold start: all first reports accepted (s)",
          f -> sec(f.at("/coldStart/firstReportAcceptedMs/max")) + (f.at("/coldStart/allRegistered").asBoolean()
              ? "" : " (" + f.at("/coldStart/registered").asInt() + " only)"));
      row(rows, fleets, "cold start: reports p50 / p99 (ms)", f -> pair(f.at("/reports/cold start")));
      row(rows, fleets, "cold start: reports timed out / failed", f -> fails(f.at("/reports/cold start")));
      row(rows, fleets, "steady: reports p50 / p99 (ms)", f -> pair(f.at("/reports/steady")));
      row(rows, fleets, "steady: reports timed out / failed", f -> fails(f.at("/reports/steady")));
      row(rows, fleets, "GET /v1/agents?service= p50 / p99 (ms)", f -> pair(f.at("/statusApi/list")));
      row(rows, fleets, "  … requests/s (clients), pages, bytes", f -> num(f.at("/statusApi/list/perSecond"))
          + " (" + f.at("/statusApi/clients").asInt() + "), " + f.at("/statusApi/listPages").asInt() + ", "
          + f.at("/statusApi/listBytes").asInt());
      row(rows, fleets, "GET /v1/agents/{id} p50 / p99 (ms)", f -> pair(f.at("/statusApi/agent")));
      row(rows, fleets, "  … requests/s", f -> num(f.at("/statusApi/agent/perSecond")));
      row(rows, fleets, "reports during status load p99 (ms)", f -> num(f.at("/reports/status list/p99")));
      row(rows, fleets, "release: phase", f -> f.at("/release/phase").asText());
      row(rows, fleets, "request → COMPLETED (s)", f -> sec(f.at("/release/requestToCompletedMs")));
      for (String phase : List.of("PLANNED", "PREFLIGHT", "PREPARING", "MIGRATING", "SWITCHING")) {
        row(rows, fleets, "  " + phase + " (s)", f -> sec(f.at("/release/phaseMs/" + phase)));
      }
      row(rows, fleets, "switch learned: median / p99 / max (ms)", f -> num(f.at("/release/learnedSwitching/median"))
          + " / " + num(f.at("/release/learnedSwitching/p99")) + " / " + num(f.at("/release/learnedSwitching/max")));
      row(rows, fleets, "  first / last after SWITCHING written (ms)",
          f -> num(f.at("/release/learnedSwitching/firstAfterWrittenMs")) + " / "
              + num(f.at("/release/learnedSwitching/lastAfterWrittenMs")));
      row(rows, fleets, "switched (at switchAt): median / p99 / max (ms)", f -> num(f.at("/release/switched/median"))
          + " / " + num(f.at("/release/switched/p99")) + " / " + num(f.at("/release/switched/max")));
      row(rows, fleets, "  first / last after SWITCHING written (ms)",
          f -> num(f.at("/release/switched/firstAfterWrittenMs")) + " / "
              + num(f.at("/release/switched/lastAfterWrittenMs")));
      row(rows, fleets, "coordinator switchSkewMs", f -> f.at("/release/coordinatorSwitchSkewMs").asText("-"));
      row(rows, fleets, "release: reports p50 / p99 (ms)", f -> pair(f.at("/reports/release")));
      row(rows, fleets, "release: reports timed out / failed", f -> fails(f.at("/reports/release")));
      row(rows, fleets, "release document / events (KB, count)", f -> kb(f.at("/release/documentBytes")) + " / "
          + kb(f.at("/release/eventBytes")) + ", " + f.at("/release/events").asInt());
      row(rows, fleets, "coordinator CPU idle / steady / peak (% of a core)", f -> each(f, u ->
          num(u.at("/idle/cpuPercent")) + " / " + num(u.at("/steady/cpuPercent")) + " / "
              + num(u.at("/peak/cpuPeakPercent"))));
      row(rows, fleets, "coordinator CPU cold start / release (%)", f -> each(f, u ->
          num(u.at("/cold start/cpuPercent")) + " / " + num(u.at("/release/cpuPercent"))));
      row(rows, fleets, "coordinator RSS idle / peak (MB)", f -> each(f, u ->
          num(u.at("/idle/rssMaxMb")) + " / " + num(u.at("/peak/rssMaxMb"))));
      row(rows, fleets, "bench JVM CPU steady / peak (%)", f -> num(f.at("/benchJvmUsage/steady/cpuPercent"))
          + " / " + num(f.at("/benchJvmUsage/peak/cpuPeakPercent")));
      out.append(format(rows));
    }
    JsonNode real = result.path("realAgents");
    if (!real.isMissingNode()) {
      out.append(String.format(Locale.ROOT, "%nreal agent (README flags): start-up to first report listed %s ms"
              + " (median of %d; max %s), RSS %s MB (median; max %s)%n",
          num(real.at("/startup/startupMs/median")), real.at("/startup/startupMs/count").asInt(),
          num(real.at("/startup/startupMs/max")), num(real.at("/startup/rssMb/median")),
          num(real.at("/startup/rssMb/max"))));
      JsonNode hook = real.path("switchHook");
      out.append(String.format(Locale.ROOT, "%d real agents with a switch hook: %s; hook start spread %s ms,"
              + " coordinator switchSkewMs %s, request → COMPLETED %s s%n",
          hook.path("agents").asInt(), hook.path("phase").asText(), num(hook.at("/breakdown/spreadMs/hook started")),
          hook.path("coordinatorSwitchSkewMs").asText("-"), sec(hook.path("requestToCompletedMs"))));
      out.append("  spread of each moment over the agents (ms): ");
      List<String> parts = new ArrayList<>();
      hook.at("/breakdown/spreadMs").fields().forEachRemaining(e -> parts.add(e.getKey() + " " + num(e.getValue())));
      out.append(String.join(", ", parts)).append('\n');
      out.append("  stages (ms, min / median / max):\n");
      hook.at("/breakdown/stagesMs").fields().forEachRemaining(e -> out.append(String.format(Locale.ROOT,
          "    %-52s %s / %s / %s%n", e.getKey(), num(e.getValue().path("min")), num(e.getValue().path("median")),
          num(e.getValue().path("max")))));
    }
    return out.toString();
  }

  private static String[] header(List<JsonNode> fleets) {
    String[] h = new String[fleets.size() + 1];
    h[0] = "agents (coordinators)";
    for (int i = 0; i < fleets.size(); i++) {
      h[i + 1] = String.format(Locale.ROOT, "%,d (%d)", fleets.get(i).path("agents").asInt(),
          fleets.get(i).path("coordinators").asInt());
    }
    return h;
  }

  private static void row(List<String[]> rows, List<JsonNode> fleets, String name, Function<JsonNode, String> cell) {
    String[] r = new String[fleets.size() + 1];
    r[0] = name;
    for (int i = 0; i < fleets.size(); i++) {
      r[i + 1] = cell.apply(fleets.get(i));
    }
    rows.add(r);
  }

  private static String each(JsonNode fleet, Function<JsonNode, String> cell) {
    List<String> parts = new ArrayList<>();
    fleet.path("coordinatorUsage").forEach(u -> parts.add(cell.apply(u)));
    return String.join(" | ", parts);
  }

  private static String format(List<String[]> rows) {
    int[] widths = new int[rows.get(0).length];
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        widths[i] = Math.max(widths[i], r[i].length());
      }
    }
    StringBuilder out = new StringBuilder("\n");
    for (int k = 0; k < rows.size(); k++) {
      String[] r = rows.get(k);
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < r.length; i++) {
        line.append(i == 0 ? String.format("%-" + widths[i] + "s", r[i]) : "  " + String.format("%" + widths[i] + "s", r[i]));
      }
      out.append(line.toString().stripTrailing()).append('\n');
      if (k == 0) {
        out.append("-".repeat(line.length())).append('\n');
      }
    }
    return out.toString();
  }

  private static String pair(JsonNode latencies) {
    return num(latencies.path("median")) + " / " + num(latencies.path("p99"));
  }

  private static String fails(JsonNode latencies) {
    return latencies.path("timeouts").asLong() + " / " + latencies.path("errors").asLong() + " of "
        + (latencies.path("count").asLong() + latencies.path("timeouts").asLong() + latencies.path("errors").asLong());
  }

  static String num(JsonNode value) {
    if (value == null || value.isMissingNode() || value.isNull()) {
      return "-";
    }
    double v = value.asDouble();
    return Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
  }

  private static String sec(JsonNode ms) {
    return ms == null || ms.isMissingNode() || ms.isNull() ? "-" : String.format(Locale.ROOT, "%.2f", ms.asDouble() / 1000);
  }

  private static String kb(JsonNode bytes) {
    return bytes.isMissingNode() ? "-" : String.format(Locale.ROOT, "%.1f", bytes.asDouble() / 1024);
  }
}
