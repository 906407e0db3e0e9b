package dev.lockstep.bench.fleet;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lockstep.protocol.Json;
import java.nio.file.Files;
import java.nio.file.Path;

/** The machine a run measured: cores, memory, CPU model, load when it started, and the JVM. */
final class Machine {
  private Machine() {}

  static ObjectNode describe() {
    ObjectNode out = Json.mapper().createObjectNode();
    out.put("cores", Runtime.getRuntime().availableProcessors());
    out.put("cpuModel", firstValue("/proc/cpuinfo", "model name"));
    String total = firstValue("/proc/meminfo", "MemTotal");
    out.put("memTotalMb", total == null ? -1 : Long.parseLong(total.replaceAll("[^0-9]", "")) / 1024);
    out.put("loadAverage", read("/proc/loadavg"));
    out.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    out.put("kernel", read("/proc/sys/kernel/osrelease"));
    return out;
  }

  private static String firstValue(String file, String key) {
    try {
      for (String line : Files.readAllLines(Path.of(file))) {
        if (line.startsWith(key)) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (java.io.IOException e) {
      return null;
    }
    return null;
  }

  private static String read(String file) {
    try {
      return Files.readString(Path.of(file)).strip();
    } catch (java.io.IOException e) {
      return null;
    }
  }
}
