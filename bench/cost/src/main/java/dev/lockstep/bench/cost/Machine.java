package dev.lockstep.bench.cost;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the figures were measured on: CPU, cores, memory, kernel, Java, PostgreSQL, Alembic, load. */
final class Machine {
  private Machine() {}

  static Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    String cpu = read("/proc/cpuinfo").lines().filter(l -> l.startsWith("model name")).findFirst()
        .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("?");
    m.put("cpu", cpu);
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("memory", read("/proc/meminfo").lines().findFirst().orElse("?").replaceAll("\\s+", " "));
    m.put("kernel", System.getProperty("os.version"));
    m.put("java", System.getProperty("java.runtime.version"));
    m.put("postgres", first("psql", "--version"));
    m.put("alembic", first("alembic", "--version"));
    m.put("summary", cpu + ", " + m.get("cores") + " cores, Java " + m.get("java"));
    return m;
  }

  static String loadAverage() {
    return read("/proc/loadavg").trim();
  }

  private static String first(String... cmd) {
    try {
      return Spawn.of(java.util.List.of(cmd)).run(20_000).output().lines().findFirst().orElse("?").trim();
    } catch (RuntimeException e) {
      return "?";
    }
  }

  private static String read(String file) {
    try {
      return Files.readString(Path.of(file));
    } catch (IOException e) {
      return "";
    }
  }
}
