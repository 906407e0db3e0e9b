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
   * Variables of flags DESIGN.md names ("Containers and Kubernetes") that the code does not read yet. Remove an
   * entry when its flag lands: {@link #coordinator()} and {@link #agent()} fail while a listed name is in the code.
   */
  static final Set<String> COORDINATOR_NOT_IN_CODE_YET = Set.of();
  static final Set<String> AGENT_NOT_IN_CODE_YET = Set.of();

  private static final Pattern ENV = Pattern.compile("\\$\\{env:(LOCKSTEP_[A-Z0-9_]+)");

  private EnvironmentNames() {}

  /** What the coordinator's {@code serve} reads, plus {@link #COORDINATOR_NOT_IN_CODE_YET}. */
  static Set<String> coordinator() {
    // serve's options: ServeCommand and its mixins, all in package server.
    Path server = Tools.repository().resolve("coordinator/src/main/java/dev/lockstep/coordinator/server");
    try (var files = Files.list(server)) {
      return withPending(read(files.filter(f -> f.toString().endsWith(".java")).sorted().toArray(Path[]::new)),
          COORDINATOR_NOT_IN_CODE_YET, "COORDINATOR_NOT_IN_CODE_YET");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What the agent reads, plus {@link #AGENT_NOT_IN_CODE_YET}. */
  static Set<String> agent() {
    return withPending(read(Tools.repository().resolve("agent/src/main/java/dev/lockstep/agent/AgentMain.java")),
        AGENT_NOT_IN_CODE_YET, "AGENT_NOT_IN_CODE_YET");
  }

  private static Set<String> withPending(Set<String> inCode, Set<String> pending, String listName) {
    Set<String> landed = new TreeSet<>(pending);
    landed.retainAll(inCode);
    if (!landed.isEmpty()) {
      throw new AssertionError(landed + " are read by the code now: remove them from EnvironmentNames." + listName);
    }
    Set<String> all = new TreeSet<>(inCode);
    all.addAll(pending);
    return all;
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
