package dev.lockstep.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code LOCKSTEP_*} environment variables the coordinator and the agent really read, taken from their picocli
 * options ({@code defaultValue = "${env:NAME…}"}), so a chart cannot set a variable nothing reads.
 */
final class EnvironmentNames {
  /**
   * Variables of flags DESIGN.md names ("Containers and Kubernetes") that the code does not read yet; remove an
   * entry when its flag lands (the test then reads it from the source).
   */
  static final Set<String> COORDINATOR_NOT_IN_CODE_YET = Set.of("LOCKSTEP_AUTO_RELEASE");
  static final Set<String> AGENT_NOT_IN_CODE_YET = Set.of("LOCKSTEP_READINESS_PORT", "LOCKSTEP_EPHEMERAL");

  private static final Pattern ENV = Pattern.compile("\\$\\{env:(LOCKSTEP_[A-Z0-9_]+)");

  private EnvironmentNames() {}

  static Set<String> coordinator() {
    Path src = Tools.repository().resolve("coordinator/src/main/java/dev/lockstep/coordinator");
    return read(src.resolve("ServeCommand.java"), src.resolve("config/EngineOptions.java"));
  }

  static Set<String> agent() {
    return read(Tools.repository().resolve("agent/src/main/java/dev/lockstep/agent/AgentMain.java"));
  }

  private static Set<String> read(Path... files) {
    Set<String> names = new TreeSet<>();
    for (Path file : files) {
      try {
        Matcher m = ENV.matcher(Files.readString(file));
        while (m.find()) {
          names.add(m.group(1));
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    if (names.isEmpty()) {
      throw new AssertionError("found no ${env:LOCKSTEP_…} option in " + java.util.Arrays.toString(files));
    }
    return names;
  }
}
