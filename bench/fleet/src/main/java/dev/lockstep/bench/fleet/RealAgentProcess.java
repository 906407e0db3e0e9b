package dev.lockstep.bench.fleet;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One real agent JVM ({@code agent/target/lockstep-agent.jar}) with the README's flags, logging to a file. */
final class RealAgentProcess implements AutoCloseable {
  /** The README's and the demo's agent flags. */
  static final List<String> README_FLAGS = List.of("-Xmx32m", "-Xms8m", "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1", "-Xss512k", "-XX:ReservedCodeCacheSize=16m", "-XX:-UsePerfData");
  /** {@code BENCH_AGENT_JVM}: flags added after the README's, space-separated (e.g. to compare an agent setting). */
  static final List<String> EXTRA_FLAGS = List.of(System.getenv().getOrDefault("BENCH_AGENT_JVM", "").trim().split("\\s+"))
      .stream().filter(f -> !f.isEmpty()).toList();

  final String id;
  final Process process;
  final long startedNanos;
  final Path log;

  private RealAgentProcess(String id, Process process, long startedNanos, Path log) {
    this.id = id;
    this.process = process;
    this.startedNanos = startedNanos;
    this.log = log;
  }

  static RealAgentProcess start(Path jar, List<String> extraJvmFlags, String coordinators, String service, String id,
                                String token, Path migrations, String onSwitch, Path log) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(README_FLAGS);
    command.addAll(EXTRA_FLAGS);
    command.addAll(extraJvmFlags);
    command.addAll(List.of("-jar", jar.toString(), "--coordinator", coordinators, "--service", service, "--id", id,
        "--revision", "v0", "--token", token, "--migrations", migrations.toString()));
    if (onSwitch != null) {
      command.addAll(List.of("--on-switch", onSwitch));
    }
    long started = System.nanoTime();
    Process process = ProcessEnvironment.applied(new ProcessBuilder(command)).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    return new RealAgentProcess(id, process, started, log);
  }

  long pid() {
    return process.pid();
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }
}
