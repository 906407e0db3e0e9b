package dev.lockstep.bench.cost;

import java.nio.file.Path;
import java.util.List;

/**
 * Where things are and how processes are started: the repository's jars, the JVM flags the README recommends, the
 * stores, the work folder.
 *
 * @param root the repository
 * @param work scratch folder for chains, logs, hook files
 * @param redisUrl Redis every coordinator uses (each run has a service of its own)
 * @param alembic the alembic command
 */
record Setup(Path root, Path work, String redisUrl, String alembic) {
  /** README / demo: the coordinator's and the CLI's JVM. */
  static final List<String> COORDINATOR_JVM = List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k");
  /** README / demo: the agent's JVM. */
  static final List<String> AGENT_JVM = List.of("-Xmx32m", "-Xms8m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
      "-Xss512k", "-XX:ReservedCodeCacheSize=16m", "-XX:-UsePerfData");
  /**
   * The serving coordinator's JVM: {@link #COORDINATOR_JVM}, then the flags of {@code BENCH_COORDINATOR_JVM} (e.g.
   * {@code -Dlockstep.coordinator.stepsAhead=false}, to compare).
   */
  static List<String> serveJvm() {
    String extra = System.getenv().getOrDefault("BENCH_COORDINATOR_JVM", "").trim();
    List<String> flags = new java.util.ArrayList<>(COORDINATOR_JVM);
    if (!extra.isEmpty()) {
      flags.addAll(List.of(extra.split("\\s+")));
    }
    return flags;
  }

  static final String OPERATOR_TOKEN = "bench-operator-token-0123456789";
  static final String AGENT_SECRET = "bench-agent-secret-0123456789abcdef";

  Path coordinatorJar() {
    return root.resolve("coordinator/target/lockstep-coordinator.jar");
  }

  Path agentJar() {
    return root.resolve("agent/target/lockstep-agent.jar");
  }

  Path corpora() {
    return root.resolve("testkit/src/main/resources/corpora");
  }

  /** The classpath of this bench: its classes and every dependency (Flyway's jars among them). */
  String benchClasspath() {
    return root.resolve("bench/cost/target/classes") + ":" + root.resolve("bench/cost/target/lib") + "/*";
  }

  /**
   * The operator CLI as the README runs it, {@code scripts/lockstep args…}: the coordinator's jar with the CLI's JVM flags
   * ({@link #COORDINATOR_JVM}) and its class-data-sharing archive, kept in the work folder so every run of the bench
   * makes its own from the jar it measures ({@link #prepareCli} makes it before anything is timed).
   */
  Spawn cli(String... args) {
    List<String> cmd = new java.util.ArrayList<>(List.of(root.resolve("scripts/lockstep").toString()));
    cmd.addAll(List.of(args));
    return Spawn.of(cmd).env("LOCKSTEP_JAR", coordinatorJar().toString())
        .env("LOCKSTEP_CDS_DIR", work.resolve("cds").toString());
  }

  /** Makes the CLI's archive (its first run does), so that no timed run pays for it. */
  void prepareCli() {
    cli("--version").log(work.resolve("cli-prepare.log")).run(120_000);
  }

  /** {@code java <flags> -jar coordinator.jar args…} */
  List<String> lockstep(List<String> jvm, String... args) {
    List<String> cmd = new java.util.ArrayList<>(List.of("java"));
    cmd.addAll(jvm);
    cmd.addAll(List.of("-jar", coordinatorJar().toString()));
    cmd.addAll(List.of(args));
    return cmd;
  }
}
