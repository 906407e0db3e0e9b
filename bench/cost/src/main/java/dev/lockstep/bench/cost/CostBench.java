package dev.lockstep.bench.cost;

import dev.lockstep.protocol.Json;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The cost benchmark (issue 20): plain Flyway and plain Alembic against a Lockstep release with one agent, where a
 * release's time goes, and ten instances that migrate at start-up against one Lockstep release. Prints tables and
 * writes {@code bench/results/cost-<time>.json}. Run through {@code bench/cost/run} (see docs/benchmarks-cost.md).
 *
 * <pre>{@code bench/cost/run --reps 3 --chains generated-200,reportportal,osparc-simcore,powerdns-admin --status-quo flyway,alembic}</pre>
 */
public final class CostBench {
  private CostBench() {}

  public static void main(String[] args) throws IOException {
    Map<String, String> o = options(args);
    Path root = Path.of(o.getOrDefault("root", ".")).toAbsolutePath().normalize();
    int reps = Integer.parseInt(o.getOrDefault("reps", "3"));
    List<String> chains = list(o.getOrDefault("chains", "generated-200,reportportal,osparc-simcore,powerdns-admin"));
    List<String> statusQuo = list(o.getOrDefault("status-quo", "flyway,alembic"));
    int statusQuoReps = Integer.parseInt(o.getOrDefault("status-quo-reps", Integer.toString(Math.max(1, reps))));
    Path work = Chain.fresh(root.resolve("bench/cost/target/work"));
    Setup setup = new Setup(root, work, o.getOrDefault("redis-url", "redis://127.0.0.1:6379"), o.getOrDefault("alembic", "alembic"));
    PrintStream out = System.out;

    Map<String, Object> report = new LinkedHashMap<>();
    String started = DateTimeFormatter.ISO_INSTANT.format(Instant.now());
    report.put("startedAt", started);
    report.put("machine", Machine.describe());
    report.put("jvm", Map.of("coordinatorAndCli", Setup.COORDINATOR_JVM, "coordinator", Setup.serveJvm(), "agent", Setup.AGENT_JVM, "plainFlyway", List.of()));
    out.println("Lockstep cost benchmark, " + started + ", " + Machine.describe().get("summary"));
    out.println("load before start: " + Machine.loadAverage());

    List<Map<String, Object>> comparisons = new ArrayList<>();
    ToolComparison compare = new ToolComparison(setup, out);
    for (String name : chains) {
      Chain chain = chain(setup, name);
      out.printf("%n== %s: %d migrations (%s), %d repetition(s)%n", chain.name(), chain.migrations(), chain.source(), reps);
      comparisons.add(compare.run(chain, reps));
    }
    report.put("comparisons", comparisons);

    List<Map<String, Object>> quo = new ArrayList<>();
    for (String tool : statusQuo) {
      out.printf("%n== status quo (%s): ten instances migrating at start-up vs one Lockstep release, %d repetition(s)%n", tool,
          statusQuoReps);
      quo.add(new StatusQuo(setup, out).run(Chain.Tool.valueOf(tool.toUpperCase()), statusQuoReps));
    }
    report.put("statusQuo", quo);
    report.put("loadAfter", Machine.loadAverage());

    Tables.print(out, comparisons, quo);
    Path results = Files.createDirectories(root.resolve(o.getOrDefault("out", "bench/results")));
    Path file = results.resolve("cost-" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC)
        .format(Instant.now()) + ".json");
    Files.writeString(file, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(report));
    out.println("\nJSON: " + root.relativize(file));
  }

  static Chain chain(Setup setup, String name) {
    if (name.startsWith("generated-")) {
      return Chain.generated(setup.work(), Integer.parseInt(name.substring("generated-".length())));
    }
    if (name.equals("reportportal")) {
      return Chain.reportPortal(setup.corpora(), setup.work());
    }
    return Chain.alembic(setup.corpora(), setup.work(), name);
  }

  private static List<String> list(String csv) {
    return csv.isBlank() || csv.equals("none") ? List.of() : List.of(csv.split(","));
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> o = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("usage: --root DIR --reps N --chains a,b --status-quo flyway,alembic|none"
            + " --status-quo-reps N --out DIR --redis-url URL --alembic CMD (got " + args[i] + ")");
      }
      o.put(args[i].substring(2), args[++i]);
    }
    return o;
  }
}
