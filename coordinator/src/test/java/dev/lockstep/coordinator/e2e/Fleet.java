package dev.lockstep.coordinator.e2e;

import static org.awaitility.Awaitility.await;

import dev.lockstep.coordinator.cli.ApiClient;
import dev.lockstep.coordinator.cli.CliException;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestRedis;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Real processes for end-to-end tests: one coordinator and any number of agents, each a JVM started
 * from the shaded jars, logging to {@code target/e2e/<test>/}. Hooks append to a shared file so
 * tests can check what ran, where and in which order.
 */
final class Fleet implements AutoCloseable {
  static final String OPERATOR_TOKEN = "operator-" + UUID.randomUUID();
  static final String AGENT_TOKEN = "agent-" + UUID.randomUUID();
  private static final List<String> SMALL_JVM = List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k");

  final String service = "svc-" + UUID.randomUUID().toString().substring(0, 8);
  final Path dir;
  final Path hookLog;
  final TestDatabase database;
  private final Map<String, Process> agents = new LinkedHashMap<>();
  private Process coordinator;
  private int port;

  Fleet(String testName, TestDatabase database) {
    this.database = database;
    this.dir = Path.of("target", "e2e", testName).toAbsolutePath();
    try {
      Files.createDirectories(dir);
      this.hookLog = dir.resolve("hooks.log");
      Files.deleteIfExists(hookLog);
      Files.createFile(hookLog);
      // Revision files outlive a run (agents restarted within a test keep theirs); a new run starts afresh,
      // or an agent would start on the revision a previous run switched it to.
      try (var files = Files.list(dir)) {
        for (Path p : files.filter(f -> f.getFileName().toString().startsWith("revision-")).toList()) {
          Files.delete(p);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Copies a migrations folder from test resources into this test's folder, so tests may change it. */
  Path migrations(String resource) {
    try {
      Path target = dir.resolve("migrations-" + resource.replace('/', '-'));
      if (Files.exists(target)) {
        try (var files = Files.list(target)) {
          for (Path p : files.toList()) {
            Files.delete(p);
          }
        }
      }
      Files.createDirectories(target);
      Path source = Path.of("src", "test", "resources", resource);
      try (var files = Files.list(source)) {
        for (Path p : files.toList()) {
          Files.copy(p, target.resolve(p.getFileName()));
        }
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes {@code files} (name → SQL) into a fresh folder {@code name} of this test's folder: a build's checkout. */
  Path folder(String name, Map<String, String> files) {
    try {
      Path target = dir.resolve(name);
      if (Files.exists(target)) {
        try (var old = Files.walk(target)) {
          for (Path p : old.sorted(java.util.Comparator.reverseOrder()).toList()) {
            Files.delete(p);
          }
        }
      }
      Files.createDirectories(target);
      for (Map.Entry<String, String> f : files.entrySet()) {
        Files.writeString(target.resolve(f.getKey()), f.getValue());
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The {@code migrations} field of a release request for {@code folder}: file name → Base64 of its bytes. */
  static Map<String, String> upload(Path folder) {
    Map<String, String> files = new java.util.TreeMap<>();
    try (var walk = Files.walk(folder)) {
      for (Path p : walk.filter(Files::isRegularFile).toList()) {
        String name = p.getFileName().toString();
        if (name.endsWith(".sql") || name.endsWith(".sql.conf")) {
          files.put(name, java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(p)));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return files;
  }

  void startCoordinator(Path migrations, String... extra) {
    port = freePort();
    coordinatorArgs = new ArrayList<>(List.of(extra));
    coordinatorMigrations = migrations;
    launchCoordinator();
  }

  /** Starts the coordinator again on the same port, as a supervisor would after a crash. */
  void restartCoordinator() {
    launchCoordinator();
  }

  Process coordinator() {
    return coordinator;
  }

  private List<String> coordinatorArgs = List.of();
  private Path coordinatorMigrations;

  private void launchCoordinator() {
    coordinator = launchCoordinator(port, "coordinator.log");
  }

  /**
   * A second coordinator instance for the same service and database, on a port of its own (as a
   * standby would run); the caller stops it.
   */
  Standby startStandbyCoordinator(String logName) {
    return startStandbyCoordinator(logName, coordinatorMigrations);
  }

  /** As above, with a {@code --migrations} folder of its own (a standby deployed from another build). */
  Standby startStandbyCoordinator(String logName, Path migrations) {
    int standbyPort = freePort();
    Process standby = launchCoordinator(standbyPort, logName, migrations);
    extraProcesses.add(standby);
    return new Standby(standby, "http://127.0.0.1:" + standbyPort);
  }

  /** A second coordinator process and its URL. */
  record Standby(Process process, String url) {
    ApiClient api() {
      return new ApiClient(url, OPERATOR_TOKEN);
    }
  }

  /** Agents started from now on get these coordinator URLs (failover order) instead of the main one. */
  void agentsUse(String... urls) {
    agentCoordinators = String.join(",", urls);
  }

  private String agentCoordinators;

  private final List<Process> extraProcesses = new ArrayList<>();

  private Process launchCoordinator(int onPort, String logName) {
    return launchCoordinator(onPort, logName, coordinatorMigrations);
  }

  /** {@code migrations} null starts a coordinator without {@code --migrations}: every release must upload its set. */
  private Process launchCoordinator(int onPort, String logName, Path migrations) {
    Process process = spawnCoordinator(onPort, logName, migrations, database.postgresUrl(), TestRedis.url());
    ApiClient client = new ApiClient("http://127.0.0.1:" + onPort, OPERATOR_TOKEN);
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
      if (!process.isAlive()) {
        throw new IllegalStateException("coordinator exited " + process.exitValue() + "; see " + dir.resolve(logName));
      }
      try {
        client.get("/health", Map.class);
        return true;
      } catch (CliException notYet) {
        return false;
      }
    });
    return process;
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  ApiClient api() {
    return new ApiClient(url(), OPERATOR_TOKEN);
  }

  /**
   * Starts an agent whose revision lives in a file (read by {@code --revision-command}, rewritten by
   * its switch hook), as a real deployment would keep it, so a restarted agent reports the truth.
   */
  void startAgent(String id, String revision, Path migrations, String... extra) {
    startSlowAgent(id, revision, migrations, "", extra);
  }

  /** As above, with {@code beforePrepare} (e.g. {@code "sleep 5 && "}) run first in the prepare hook. */
  void startSlowAgent(String id, String revision, Path migrations, String beforePrepare, String... extra) {
    try {
      Path revisionFile = dir.resolve("revision-" + id);
      if (!Files.exists(revisionFile)) {
        Files.writeString(revisionFile, revision + "\n");
      }
      String log = "echo \"$(date +%s%3N) " + id + " $LOCKSTEP_PHASE $LOCKSTEP_RELEASE_ID $LOCKSTEP_TARGET_REVISION $LOCKSTEP_MODE\" >> "
          + hookLog;
      List<String> cmd = new ArrayList<>(List.of("--coordinator", agentCoordinators == null ? url() : agentCoordinators,
          "--id", id, "--service", service,
          "--revision-command", "cat " + revisionFile, "--token", AGENT_TOKEN, "--migrations", migrations.toString(),
          "--on-prepare", beforePrepare + log.replace("$LOCKSTEP_PHASE", "prepare"),
          "--on-switch", log.replace("$LOCKSTEP_PHASE", "switch") + " && echo $LOCKSTEP_TARGET_REVISION > " + revisionFile,
          "--on-abort", log.replace("$LOCKSTEP_PHASE", "abort"),
          "--hook-timeout", "20s", "--report-interval", "500ms"));
      cmd.addAll(List.of(extra));
      agents.put(id, java(System.getProperty("lockstep.agentJar"), cmd, dir.resolve("agent-" + id + ".log")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Process agent(String id) {
    return agents.get(id);
  }

  void awaitAgents(String... ids) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
      List<String> seen = agentList().stream().filter(a -> a.state() != dev.lockstep.protocol.AgentState.LOST)
          .map(AgentStatus::id).toList();
      return seen.containsAll(List.of(ids));
    });
  }

  List<AgentStatus> agentList() {
    return api().get("/v1/agents?service=" + service, dev.lockstep.coordinator.cli.AgentsCommand.AgentList.class).agents();
  }

  /** Runs the operator CLI as a process; returns its exit code and output. */
  CliRun cli(String... args) {
    List<String> cmd = new ArrayList<>(List.of(args));
    cmd.addAll(List.of("--coordinator", url(), "--token", OPERATOR_TOKEN));
    Path out = dir.resolve("cli-" + System.nanoTime() + ".out");
    Path err = dir.resolve("cli-" + System.nanoTime() + ".err");
    try {
      List<String> full = new ArrayList<>(List.of(javaBin()));
      full.addAll(SMALL_JVM);
      full.addAll(List.of("-jar", System.getProperty("lockstep.coordinatorJar")));
      full.addAll(cmd);
      Process p = new ProcessBuilder(full).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!p.waitFor(180, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("CLI " + cmd + " did not finish in 180 s");
      }
      return new CliRun(p.exitValue(), Files.readString(out), Files.readString(err));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  record CliRun(int exit, String out, String err) {}

  List<String> hookLines() {
    try {
      return Files.readAllLines(hookLog);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void stopCoordinator() {
    if (coordinator != null) {
      coordinator.destroy();
      try {
        coordinator.waitFor(15, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      coordinator.destroyForcibly();
    }
  }

  @Override
  public void close() {
    extraProcesses.forEach(p -> {
      signal(p.pid(), "CONT");
      p.destroyForcibly();
    });
    agents.values().forEach(p -> {
      ProcessHandle.of(p.pid()).ifPresent(h -> signal(h.pid(), "CONT"));
      p.destroyForcibly();
    });
    try {
      for (String id : agents.keySet()) {
        api().delete("/v1/agents/" + id + "?service=" + service, Map.class);
      }
    } catch (RuntimeException ignored) {
      // the coordinator may be down already; the registry entries are keyed by a test-only service
    }
    stopCoordinator();
  }

  static void signal(long pid, String signal) {
    try {
      new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start().waitFor();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Process java(String jar, List<String> args, Path log) {
    if (jar == null || !Files.exists(Path.of(jar))) {
      throw new IllegalStateException("jar " + jar + " not found; run the tests with `mvn verify` so the jars are built first");
    }
    List<String> cmd = new ArrayList<>(List.of(javaBin()));
    cmd.addAll(SMALL_JVM);
    cmd.addAll(List.of("-jar", jar));
    cmd.addAll(args);
    try {
      return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The coordinator process on {@code onPort} against these stores, not waited for. */
  private Process spawnCoordinator(int onPort, String logName, Path migrations, String databaseUrl, String redisUrl) {
    List<String> cmd = new ArrayList<>(List.of("serve", "--port", Integer.toString(onPort),
        "--database-url", databaseUrl, "--redis-url", redisUrl, "--service", service,
        "--token", OPERATOR_TOKEN, "--agent-token", AGENT_TOKEN,
        "--lost-after", "3s", "--prepare-timeout", "60s", "--switch-timeout", "60s"));
    if (migrations != null) {
      cmd.addAll(List.of("--migrations", migrations.toString()));
    }
    cmd.addAll(coordinatorArgs);
    return java(System.getProperty("lockstep.coordinatorJar"), cmd, dir.resolve(logName));
  }

  /**
   * Starts the coordinator against these store URLs (a proxy, a Redis of the test's own) with a fresh
   * {@code logName}, and returns at once: it may not be ready yet, or may be meant to exit. {@link #url()},
   * {@link #api()} and agents started later talk to it.
   */
  Process startCoordinatorAgainst(String databaseUrl, String redisUrl, Path migrations, String logName) {
    try {
      Files.deleteIfExists(dir.resolve(logName));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    port = freePort();
    coordinatorMigrations = migrations;
    coordinator = spawnCoordinator(port, logName, migrations, databaseUrl, redisUrl);
    return coordinator;
  }
}
