package dev.lockstep.coordinator.e2e;

import static org.awaitility.Awaitility.await;

import dev.lockstep.coordinator.cli.ApiClient;
import dev.lockstep.coordinator.cli.CliException;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.testkit.TestCertificates;
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
 * Real processes for end-to-end tests: coordinators (a primary, standbys, instances started late) and
 * any number of agents, each a JVM started from the shaded jars, logging to {@code target/e2e/<test>/}.
 * Hooks append to a shared file so tests can check what ran, where and in which order.
 *
 * <p>Each hook line reads {@code <epoch millis> <agent> <hook> <release> <target revision> <mode>} and is
 * written when the hook's work is done (after any sleep put in front of it), so a hook killed half-way
 * leaves no line. Killing an agent ({@link #killAgent}) kills its running hook with it, as a dying
 * server would ({@link #killAgentAlone} leaves the hook running, as the OOM killer would); {@link #agentStarts} says when each life of an agent began.
 */
final class Fleet implements AutoCloseable {
  static final String OPERATOR_TOKEN = "operator-" + UUID.randomUUID();
  /** Every coordinator of every fleet derives agents' tokens from this ({@code --agent-secret}). */
  static final String AGENT_SECRET = "agent-secret-" + UUID.randomUUID();
  /** The old shared agent token, for the one test of {@code --allow-shared-agent-token}; no fleet passes it by default. */
  static final String SHARED_AGENT_TOKEN = "shared-agent-" + UUID.randomUUID();
  private static long sizeOf(Path file) {
    try {
      return Files.exists(file) ? Files.size(file) : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  /**
   * Vert.x asserts that a connection is written from its event loop; the API server's strict thread mode relies on it
   * (no write queue), so a test coordinator fails such a write at once and {@link #close} finds it in the log.
   */
  private static final String OFF_LOOP_WRITES_FAIL = "-ea:io.vertx.core.net.impl.VertxConnection";
  private static final List<String> SMALL_JVM = List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k");

  final String service = "svc-" + UUID.randomUUID().toString().substring(0, 8);
  final Path dir;
  final Path hookLog;
  final TestDatabase database;
  private final String redisUrl;
  private final java.util.function.Supplier<String> keysAt;
  private final Map<String, Process> agents = new LinkedHashMap<>();
  private final Map<String, AgentSpec> agentSpecs = new LinkedHashMap<>();
  private final Map<String, List<Long>> agentStarts = new LinkedHashMap<>();
  private final Map<String, String> agentTokens = new LinkedHashMap<>();
  private final List<Coordinator> coordinators = new ArrayList<>();
  private Coordinator primary;

  Fleet(String testName, TestDatabase database) {
    this(testName, database, null);
  }

  /** As above, with coordinators on {@code redisUrl} (e.g. a Redis of the test's own) instead of the shared one. */
  Fleet(String testName, TestDatabase database, String redisUrl) {
    this(testName, database, redisUrl, null);
  }

  /**
   * As above, where {@code redisUrl} is not one server's (a Sentinel set, a Cluster): {@code keysAt} names the
   * {@code redis://} server whose keys the test reads now (the primary a Sentinel set names), see {@link #redisKeysUrl()}.
   */
  Fleet(String testName, TestDatabase database, String redisUrl, java.util.function.Supplier<String> keysAt) {
    this.database = database;
    this.redisUrl = redisUrl;
    this.keysAt = keysAt;
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
        try (var files = Files.walk(target)) {
          for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
            Files.delete(p);
          }
        }
      }
      Files.createDirectories(target);
      Path source = Path.of("src", "test", "resources", resource);
      // Subfolders too: a contract/ folder is part of the set.
      try (var files = Files.walk(source)) {
        for (Path p : files.toList()) {
          Path copy = target.resolve(source.relativize(p).toString());
          if (Files.isDirectory(p)) {
            Files.createDirectories(copy);
          } else {
            Files.copy(p, copy);
          }
        }
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Copies a whole project (an Alembic project: alembic.ini, migrations/env.py, migrations/versions/…) from test
   * resources into this test's folder, so tests may change it; returns the copy's root.
   */
  Path project(String resource) {
    return dev.lockstep.testkit.TestFiles.copyTree(Path.of("src", "test", "resources", resource),
        dir.resolve("project-" + resource.replace('/', '-')));
  }

  /**
   * Plain {@code alembic -c <project>/alembic.ini args…} against {@code database}, as an operator would run it
   * without Lockstep; fails the test with alembic's output if it fails.
   */
  static String alembic(Path project, TestDatabase database, String... args) {
    List<String> cmd = new ArrayList<>(List.of("alembic", "-c", project.resolve("alembic.ini").toString()));
    cmd.addAll(List.of(args));
    try {
      ProcessBuilder builder = new ProcessBuilder(cmd).directory(project.toFile()).redirectErrorStream(true);
      builder.environment().put("DATABASE_URL", database.postgresUrl());
      Process p = builder.start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + out);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
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
        Path file = target.resolve(f.getKey());
        Files.createDirectories(file.getParent()); // contract/V3__….sql
        Files.writeString(file, f.getValue());
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
        if (dev.lockstep.protocol.MigrationsDigest.isMigrationFile(name)) {
          files.put(name, java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(p)));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return files;
  }

  // ---- TLS ---------------------------------------------------------------------------------------------------

  /**
   * TLS for the whole fleet: coordinators serve HTTPS with a copy of {@code server} ({@link #serverCert()},
   * {@link #serverKey()}, which a test may replace to see the coordinator reload it), read again every second;
   * agents, the CLI and {@link #api()} trust {@code ca}. With {@code mutual}, coordinators require client
   * certificates signed by {@code ca}, each agent gets one naming it, and the CLI and {@link #api()} present
   * {@code operator}'s.
   */
  record Tls(TestCertificates ca, TestCertificates.Issued operator, boolean mutual) {}

  private Tls tls;
  private final Map<String, TestCertificates.Issued> agentCertificates = new LinkedHashMap<>();

  /** Call before starting anything: from now on the fleet talks HTTPS (see {@link Tls}). */
  void useTls(TestCertificates ca, TestCertificates.Issued server, TestCertificates.Issued operator, boolean mutual) {
    try {
      Files.createDirectories(serverCert().getParent());
      Files.copy(server.cert(), serverCert(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      Files.copy(server.key(), serverKey(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    tls = new Tls(ca, operator, mutual);
  }

  /** The certificate file the fleet's coordinators serve (and reload). */
  Path serverCert() {
    return dir.resolve("tls").resolve("server.crt");
  }

  /** The key file of {@link #serverCert()}. */
  Path serverKey() {
    return dir.resolve("tls").resolve("server.key");
  }

  /** The TLS context of the fleet's own clients ({@link #api()}): trusts the CA, presents the operator's certificate. */
  javax.net.ssl.SSLContext clientTls() {
    return tls == null ? null : tls.ca().clientContext(tls.mutual() ? tls.operator() : null);
  }

  private List<String> coordinatorTlsArgs() {
    if (tls == null) {
      return List.of();
    }
    List<String> args = new ArrayList<>(List.of("--tls-cert", serverCert().toString(), "--tls-key", serverKey().toString(),
        "--tls-reload-interval", "1s"));
    if (tls.mutual()) {
      args.addAll(List.of("--tls-client-ca", tls.ca().caCert().toString()));
    }
    return args;
  }

  /** The agent's TLS flags: trust the CA and, under mutual TLS, a certificate naming this agent of this service. */
  private List<String> agentTlsArgs(String id) {
    if (tls == null) {
      return List.of();
    }
    List<String> args = new ArrayList<>(List.of("--ca-cert", tls.ca().caCert().toString()));
    if (tls.mutual()) {
      TestCertificates.Issued cert = agentCertificates.computeIfAbsent(id, k -> tls.ca().agent(service, k));
      args.addAll(List.of("--client-cert", cert.cert().toString(), "--client-key", cert.key().toString()));
    }
    return args;
  }

  private List<String> cliTlsArgs() {
    if (tls == null) {
      return List.of();
    }
    List<String> args = new ArrayList<>(List.of("--ca-cert", tls.ca().caCert().toString()));
    if (tls.mutual()) {
      args.addAll(List.of("--client-cert", tls.operator().cert().toString(), "--client-key", tls.operator().key().toString()));
    }
    return args;
  }

  // ---- coordinators ------------------------------------------------------------------------------------------

  /**
   * Starts the primary coordinator. {@code extra} flags go to every coordinator of this fleet, standbys and
   * instances started later included.
   */
  void startCoordinator(Path migrations, String... extra) {
    configureCoordinators(migrations, extra);
    primary = addCoordinator("coordinator");
    primary.start().awaitReady();
  }

  /**
   * Sets the {@code --migrations} folder (null: none) and the extra flags of every coordinator added from now
   * on, without starting one: for tests that start several at once ({@link #startAll}).
   */
  void configureCoordinators(Path migrations, String... extra) {
    coordinatorArgs = new ArrayList<>(List.of(extra));
    coordinatorMigrations = migrations;
  }

  /**
   * A coordinator instance of this fleet with a port of its own, not started yet (so agents can be given its
   * URL before it runs). The first one added is the primary: {@link #url()}, {@link #api()} and
   * {@link #coordinator()} are its. Its log is {@code <name>.log}.
   */
  Coordinator addCoordinator(String name) {
    Coordinator c = new Coordinator(name, freePort(), coordinatorMigrations);
    coordinators.add(c);
    if (primary == null) {
      primary = c;
    }
    return c;
  }

  /** Starts every given coordinator at once and waits until each answers {@code /health}. */
  void startAll(Coordinator... instances) {
    for (Coordinator c : instances) {
      c.start();
    }
    for (Coordinator c : instances) {
      c.awaitReady();
    }
  }

  List<Coordinator> coordinators() {
    return List.copyOf(coordinators);
  }

  /** The coordinator instance whose current or an earlier process had {@code pid}, if any. */
  java.util.Optional<Coordinator> coordinatorByPid(long pid) {
    return coordinators.stream().filter(c -> c.pids.contains(pid)).findFirst();
  }

  /** Starts the coordinator again on the same port, as a supervisor would after a crash. */
  void restartCoordinator() {
    primary.start().awaitReady();
  }

  Process coordinator() {
    return primary.process;
  }

  private List<String> coordinatorArgs = List.of();
  private Path coordinatorMigrations;
  private final Map<String, String> coordinatorEnvironment = new LinkedHashMap<>();

  /**
   * Sets an environment variable of every coordinator process started from now on: {@code LOCKSTEP_LOG_LEVEL=DEBUG}
   * for a test that waits for what the coordinator logs only at DEBUG.
   */
  void coordinatorEnvironment(String name, String value) {
    coordinatorEnvironment.put(name, value);
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
    Coordinator standby = new Coordinator(logName.endsWith(".log") ? logName.substring(0, logName.length() - 4) : logName,
        freePort(), migrations);
    standby.logName = logName;
    coordinators.add(standby);
    standby.start().awaitReady();
    return new Standby(standby.process, standby.url());
  }

  /** A second coordinator process and its URL. */
  record Standby(Process process, String url) {
    ApiClient api() {
      return new ApiClient(url, OPERATOR_TOKEN);
    }
  }

  /**
   * One coordinator instance: a name, a port it keeps across restarts, and the process currently running
   * (replaced by {@link #start()} after it died). Every process it ever ran is remembered by pid, so the
   * fence's holder ({@code host/pid}) can be traced back to an instance.
   */
  final class Coordinator {
    final String name;
    final int port;
    private final Path migrations;
    private String logName;
    private Process process;
    private final List<Long> pids = new ArrayList<>();
    private long startedAtMillis;
    /** Where its log stood before this fleet first started it: a log from an earlier run of the test is appended to. */
    private long logStart = -1;
    /** Store URLs of its own (a proxy, a Redis of the test's own); null: the fleet's. */
    private String databaseUrl;
    private String storeRedisUrl;

    private Coordinator(String name, int port, Path migrations) {
      this.name = name;
      this.port = port;
      this.migrations = migrations;
      this.logName = name + ".log";
    }

    /** Launches the process (again, after it died), without waiting for it to answer. */
    Coordinator start() {
      if (process != null && process.isAlive()) {
        throw new IllegalStateException("coordinator " + name + " is running already (pid " + process.pid() + ")");
      }
      List<String> cmd = new ArrayList<>(List.of("serve", "--port", Integer.toString(port),
          "--database-url", databaseUrl != null ? databaseUrl : database.postgresUrl(),
          "--redis-url", storeRedisUrl != null ? storeRedisUrl : redisUrl(), "--service", service,
          "--token", OPERATOR_TOKEN, "--agent-secret", AGENT_SECRET,
          "--prepare-timeout", "60s", "--switch-timeout", "60s"));
      if (!coordinatorArgs.contains("--lost-after")) {
        cmd.addAll(List.of("--lost-after", "3s")); // a test may give its own
      }
      if (migrations != null) {
        cmd.addAll(List.of("--migrations", migrations.toString()));
      }
      cmd.addAll(coordinatorTlsArgs());
      cmd.addAll(coordinatorArgs);
      startedAtMillis = System.currentTimeMillis();
      if (logStart < 0) {
        logStart = sizeOf(log());
      }
      process = java(System.getProperty("lockstep.coordinatorJar"), cmd, log(), coordinatorEnvironment);
      pids.add(process.pid());
      return this;
    }

    /** Waits until the process answers {@code /health}; fails at once if it exited. */
    Coordinator awaitReady() {
      Process p = process;
      ApiClient client = api();
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
        if (!p.isAlive()) {
          throw new IllegalStateException("coordinator " + name + " exited " + p.exitValue() + "; see " + log());
        }
        try {
          client.get("/health", Map.class);
          return true;
        } catch (CliException notYet) {
          return false;
        }
      });
      return this;
    }

    String url() {
      return (tls == null ? "http" : "https") + "://127.0.0.1:" + port;
    }

    ApiClient api() {
      return new ApiClient(url(), OPERATOR_TOKEN, clientTls());
    }

    Process process() {
      return process;
    }

    long pid() {
      return process.pid();
    }

    boolean alive() {
      return process != null && process.isAlive();
    }

    /** When the current process was launched (epoch millis). */
    long startedAtMillis() {
      return startedAtMillis;
    }

    Path log() {
      return dir.resolve(logName);
    }

    /** SIGKILL, and waits until the process is gone. */
    void kill() {
      if (process != null) {
        process.destroyForcibly();
        waitGone(Duration.ofSeconds(10));
      }
    }

    /** Sends {@code SIGTERM} (or any signal by name) to the current process; does not wait. */
    void signal(String sig) {
      Fleet.signal(process.pid(), sig);
    }

    /** Waits up to {@code atMost} for the current process to exit; true if it did. */
    boolean waitGone(Duration atMost) {
      try {
        return process.waitFor(atMost.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    @Override
    public String toString() {
      return name + (process == null ? " (not started)" : " (pid " + process.pid() + (process.isAlive() ? "" : ", exited") + ")");
    }
  }

  /** Agents started from now on get these coordinator URLs (failover order) instead of the main one. */
  void agentsUse(String... urls) {
    agentCoordinators = String.join(",", urls);
  }

  private String agentCoordinators;

  String url() {
    return primary.url();
  }

  ApiClient api() {
    return primary.api();
  }

  /** The Redis every coordinator of this fleet uses. */
  String redisUrl() {
    return redisUrl != null ? redisUrl : TestRedis.url();
  }

  /** The {@code redis://} server that holds the fleet's keys now, for reading them directly ({@link RedisServer#call}). */
  String redisKeysUrl() {
    return keysAt != null ? keysAt.get() : redisUrl();
  }

  // ---- agents ------------------------------------------------------------------------------------------------

  /**
   * How an agent is started: its id, the revision it starts on (kept in a file, see {@link #startAgent}), the
   * migrations folder it stages, shell put in front of its prepare and switch hooks (e.g. {@code "sleep 3 && "}),
   * and extra agent flags.
   */
  record AgentSpec(String id, String revision, Path migrations, String beforePrepare, String beforeSwitch, List<String> extra) {
    AgentSpec {
      beforePrepare = beforePrepare == null ? "" : beforePrepare;
      beforeSwitch = beforeSwitch == null ? "" : beforeSwitch;
      extra = extra == null ? List.of() : List.copyOf(extra);
    }

    static AgentSpec of(String id, String revision, Path migrations) {
      return new AgentSpec(id, revision, migrations, "", "", List.of());
    }

    AgentSpec preparingFor(double seconds) {
      return new AgentSpec(id, revision, migrations, seconds > 0 ? "sleep " + seconds + " && " : "", beforeSwitch, extra);
    }

    AgentSpec switchingFor(double seconds) {
      return new AgentSpec(id, revision, migrations, beforePrepare, seconds > 0 ? "sleep " + seconds + " && " : "", extra);
    }
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
    startAgent(new AgentSpec(id, revision, migrations, beforePrepare, "", List.of(extra)));
  }

  void startAgent(AgentSpec spec) {
    try {
      String id = spec.id();
      Path revisionFile = dir.resolve("revision-" + id);
      if (!Files.exists(revisionFile)) {
        Files.writeString(revisionFile, spec.revision() + "\n");
      }
      String log = "echo \"$(date +%s%3N) " + id + " $LOCKSTEP_PHASE $LOCKSTEP_RELEASE_ID $LOCKSTEP_TARGET_REVISION $LOCKSTEP_MODE\" >> "
          + hookLog;
      List<String> cmd = new ArrayList<>(List.of("--coordinator", agentCoordinators == null ? url() : agentCoordinators,
          "--id", id, "--service", service,
          "--revision-command", "cat " + revisionFile, "--token", agentTokens.getOrDefault(id, agentToken(service, id)),
          "--migrations", spec.migrations().toString(),
          "--on-prepare", spec.beforePrepare() + log.replace("$LOCKSTEP_PHASE", "prepare"),
          "--on-switch", spec.beforeSwitch() + log.replace("$LOCKSTEP_PHASE", "switch") + " && echo $LOCKSTEP_TARGET_REVISION > "
              + revisionFile,
          "--on-abort", log.replace("$LOCKSTEP_PHASE", "abort"),
          "--hook-timeout", "20s", "--report-interval", "500ms"));
      if (!spec.extra().contains("--ca-cert")) {
        cmd.addAll(agentTlsArgs(id));
      }
      cmd.addAll(spec.extra());
      agentSpecs.put(id, spec);
      agentStarts.computeIfAbsent(id, k -> new ArrayList<>()).add(System.currentTimeMillis());
      agents.put(id, java(System.getProperty("lockstep.agentJar"), cmd, dir.resolve("agent-" + id + ".log")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Process agent(String id) {
    return agents.get(id);
  }

  /**
   * Starts an agent as the sidecar of a pod: readiness mode on a port of its own (ephemeral, as readiness mode
   * implies), on {@code revision} with the migrations folder its image carries, plus {@code extra} flags. Returns the
   * readiness port, which a {@link Kubelet} probes.
   */
  int startPod(String id, String revision, Path migrations, String... extra) {
    return startPod(AgentSpec.of(id, revision, migrations), extra);
  }

  /** As above, from a spec (e.g. one whose prepare hook takes a while). */
  int startPod(AgentSpec spec, String... extra) {
    int port = freePort();
    List<String> flags = new ArrayList<>(spec.extra());
    flags.addAll(List.of("--readiness-port", Integer.toString(port)));
    flags.addAll(List.of(extra));
    startAgent(new AgentSpec(spec.id(), spec.revision(), spec.migrations(), spec.beforePrepare(), spec.beforeSwitch(),
        flags));
    return port;
  }

  /** Sends SIGTERM to agent {@code id}, as the kubelet does to a pod the Deployment removes, and waits until it exits. */
  void terminateAgent(String id) {
    Process p = agents.get(id);
    signal(p.pid(), "TERM");
    try {
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        throw new IllegalStateException("agent " + id + " did not exit within 20 s of SIGTERM; see its log");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The token of agent {@code id} of {@code service}, as {@code lockstep agent-token} prints it for {@link #AGENT_SECRET}. */
  static String agentToken(String service, String id) {
    return dev.lockstep.coordinator.identity.AgentTokens.of(AGENT_SECRET).issue(service, id);
  }

  /** Agent {@code id}, started from now on, sends {@code token} instead of its own derived one. */
  void useAgentToken(String id, String token) {
    agentTokens.put(id, token);
  }

  List<String> agentIds() {
    return List.copyOf(agents.keySet());
  }

  /**
   * Kills an agent and whatever hook it was running (SIGKILL), as when its server dies: a hook half-way
   * through writes nothing afterwards. Waits until they are gone.
   */
  void killAgent(String id) {
    Process p = agents.get(id);
    List<ProcessHandle> hooks = p.descendants().toList();
    p.destroyForcibly();
    hooks.forEach(ProcessHandle::destroyForcibly);
    try {
      p.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Kills the agent's JVM alone (SIGKILL), as the OOM killer would: the hook it was running lives on, and its
   * next life must stop it (HookLedger). Waits until the JVM is gone.
   */
  void killAgentAlone(String id) {
    Process p = agents.get(id);
    p.destroyForcibly();
    try {
      p.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Starts a killed agent again, as it was first started; it reads its revision from its file. */
  void restartAgent(String id) {
    if (agents.get(id).isAlive()) {
      throw new IllegalStateException("agent " + id + " is still running");
    }
    startAgent(agentSpecs.get(id));
  }

  /** When each life of agent {@code id} began (epoch millis), oldest first. */
  List<Long> agentStarts(String id) {
    return List.copyOf(agentStarts.getOrDefault(id, List.of()));
  }

  /** The revision the agent's deployment holds now: the file its switch hook writes. */
  String deployedRevision(String id) {
    try {
      return Files.readString(dir.resolve("revision-" + id)).trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void awaitAgents(String... ids) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
      List<String> seen = agentList().stream().filter(a -> a.state() != dev.lockstep.protocol.AgentState.LOST)
          .map(AgentStatus::id).toList();
      return seen.containsAll(List.of(ids));
    });
  }

  List<AgentStatus> agentList() {
    return agentList(api());
  }

  /** The agents of this fleet's service as {@code coordinator} lists them. */
  List<AgentStatus> agentList(ApiClient coordinator) {
    return coordinator.get("/v1/agents?service=" + service, dev.lockstep.coordinator.cli.AgentsCommand.AgentList.class).agents();
  }

  /** Runs the operator CLI as a process; returns its exit code and output. */
  CliRun cli(String... args) {
    List<String> cmd = new ArrayList<>(List.of(args));
    cmd.addAll(List.of("--coordinator", url(), "--token", OPERATOR_TOKEN));
    cmd.addAll(cliTlsArgs());
    return command(cmd);
  }

  /** Runs {@code lockstep <args>} as a process exactly as given (no coordinator URL or token added). */
  CliRun command(List<String> cmd) {
    Path out = dir.resolve("cli-" + System.nanoTime() + ".out");
    Path err = dir.resolve("cli-" + System.nanoTime() + ".err");
    try {
      List<String> full = new ArrayList<>(List.of(javaBin()));
      full.addAll(SMALL_JVM);
      full.addAll(classDataOf(System.getProperty("lockstep.coordinatorJar")));
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
    Process coordinator = primary == null ? null : primary.process;
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
    coordinators.stream().filter(c -> c != primary && c.process != null).forEach(c -> {
      signal(c.process.pid(), "CONT");
      c.process.destroyForcibly();
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
    List<String> offLoop = offLoopWrites();
    if (!offLoop.isEmpty()) {
      throw new AssertionError("a coordinator wrote to a connection from outside its event loop (strict thread mode:"
          + " docs/architecture.md, \"Event loops\"):\n" + String.join("\n", offLoop));
    }
  }

  /**
   * The lines of the coordinators' logs where a response was written from outside its loop: Vert.x's strict thread
   * mode refuses it, and its assertion ({@link #OFF_LOOP_WRITES_FAIL}) catches a connection written from elsewhere.
   */
  List<String> offLoopWrites() {
    List<String> found = new ArrayList<>();
    for (Coordinator c : coordinators) {
      Path log = c.log();
      if (c.logStart < 0 || !Files.exists(log)) {
        continue;
      }
      try (var in = Files.newInputStream(log)) {
        in.skipNBytes(Math.min(c.logStart, Files.size(log)));
        var lines = new java.io.BufferedReader(new java.io.InputStreamReader(in, java.nio.charset.StandardCharsets.UTF_8)).lines();
        // Vert.x's own check in strict mode (a response written off its loop), and its assertion on a connection's write.
        lines.filter(l -> l.contains("Only the context thread can write") || l.contains("java.lang.AssertionError"))
            .map(l -> c.name + ": " + l).forEach(found::add);
      } catch (IOException | UncheckedIOException e) {
        // a log that cannot be read (not UTF-8) is judged by the test's own checks
      }
    }
    return found;
  }

  /**
   * Ends every process of the fleet at once (SIGCONT first, so a paused one can die), without the graceful
   * stop of {@link #close()}; for suites that start many fleets and clean the registry themselves.
   */
  void kill() {
    List<Process> all = new ArrayList<>();
    coordinators.stream().map(c -> c.process).filter(java.util.Objects::nonNull).forEach(all::add);
    for (Process agent : agents.values()) {
      agent.descendants().forEach(ProcessHandle::destroyForcibly);
      all.add(agent);
    }
    for (Process p : all) {
      if (p.isAlive()) {
        signal(p.pid(), "CONT");
        p.destroyForcibly();
      }
    }
    for (Process p : all) {
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
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

  // ---- class-data sharing -----------------------------------------------------------------------------------

  /** jar path → its class-data archive, once {@link #shareClassData} made one. */
  private static final Map<String, Path> CLASS_DATA = new java.util.concurrent.ConcurrentHashMap<>();
  /** Whether this test JVM has looked for (or made) the archives yet. */
  private static boolean classDataLooked;

  /**
   * Every coordinator, agent and CLI JVM the end-to-end tests start does so from a class-data archive of its jar (JDK
   * dynamic CDS), which takes about 1.5 s off each start here; the suite starts several hundred. The archives are made
   * once per build of the jars, in {@code target/e2e/cds/}, by booting a coordinator against a scratch database and an
   * agent against it, then stopping both cleanly (SIGTERM: the JVM writes the archive on exit; it takes its name only
   * once a JVM has mapped it whole). The test JVMs (failsafe runs two) take a file lock around that, so one trains and
   * the other waits and uses its archives. Without archives
   * (training failed, or {@code -Dlockstep.e2e.classData=false}) JVMs start as before; a stale or broken archive is
   * ignored by the JVM silently.
   */
  static synchronized void shareClassData() {
    if (classDataLooked || !Boolean.parseBoolean(System.getProperty("lockstep.e2e.classData", "true"))) {
      return;
    }
    classDataLooked = true;
    String coordinatorJar = System.getProperty("lockstep.coordinatorJar");
    String agentJar = System.getProperty("lockstep.agentJar");
    Path cds = Path.of("target", "e2e", "cds").toAbsolutePath();
    Path coordinatorArchive = archiveOf(cds, coordinatorJar);
    Path agentArchive = archiveOf(cds, agentJar);
    try {
      Files.createDirectories(cds);
      try (java.nio.channels.FileChannel lock = java.nio.channels.FileChannel.open(cds.resolve("training.lock"),
               java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
           java.nio.channels.FileLock held = lock.lock()) {
        if (!Files.exists(coordinatorArchive) || !Files.exists(agentArchive)) {
          removeStaleArchives(cds);
          try (TestDatabase scratch = dev.lockstep.testkit.TestPostgres.instance().createDatabase("cds_training")) {
            train(cds, scratch, coordinatorJar, coordinatorArchive, agentJar, agentArchive);
          }
        }
      }
    } catch (IOException e) {
      return; // no archives then: JVMs start the ordinary way
    }
    if (Files.exists(coordinatorArchive)) {
      CLASS_DATA.put(coordinatorJar, coordinatorArchive);
    }
    if (Files.exists(agentArchive)) {
      CLASS_DATA.put(agentJar, agentArchive);
    }
  }

  /** {@code -XX:SharedArchiveFile=…} for {@code jar}'s JVM, or nothing. */
  private static List<String> classDataOf(String jar) {
    shareClassData();
    Path archive = CLASS_DATA.get(jar);
    return archive == null ? List.of() : List.of("-XX:SharedArchiveFile=" + archive);
  }

  /** Archives of earlier builds of the jars (some 60 MB a build) go before new ones are made. */
  private static void removeStaleArchives(Path dir) {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (var files = Files.list(dir)) {
      for (Path p : files.filter(f -> f.getFileName().toString().endsWith(".jsa")
          || f.getFileName().toString().endsWith(".jsa.part")).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path archiveOf(Path dir, String jar) {
    try {
      Path p = Path.of(jar);
      return dir.resolve(p.getFileName() + "-" + Files.size(p) + "-" + Files.getLastModifiedTime(p).toMillis() + ".jsa");
    } catch (IOException e) {
      throw new UncheckedIOException("jar " + jar + " not found; run the tests with `mvn verify` so the jars are built first", e);
    }
  }

  private static void train(Path dir, TestDatabase scratch, String coordinatorJar, Path coordinatorArchive, String agentJar,
                            Path agentArchive) {
    try {
      Files.createDirectories(dir);
      int port = freePort();
      String service = "cds-training-" + UUID.randomUUID().toString().substring(0, 8);
      Process coordinator = trainee(coordinatorJar, coordinatorArchive, List.of("serve", "--port", Integer.toString(port),
          "--database-url", scratch.postgresUrl(), "--redis-url", TestRedis.url(), "--service", service,
          "--token", OPERATOR_TOKEN, "--agent-secret", AGENT_SECRET), dir.resolve("training-coordinator.log"));
      ApiClient client = new ApiClient("http://127.0.0.1:" + port, OPERATOR_TOKEN);
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
          .until(() -> client.get("/health", Map.class) != null);
      Process agent = trainee(agentJar, agentArchive, List.of("--coordinator", "http://127.0.0.1:" + port, "--id", "trainee",
          "--service", service, "--revision", "v0", "--token", agentToken(service, "trainee"), "--report-interval", "200ms"),
          dir.resolve("training-agent.log"));
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() ->
          client.get("/v1/agents?service=" + service, dev.lockstep.coordinator.cli.AgentsCommand.AgentList.class).agents().size() == 1);
      client.delete("/v1/agents/trainee?service=" + service, Map.class);
      for (Process p : List.of(agent, coordinator)) {
        p.destroy();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
      keepIfWhole(agentJar, agentArchive);
      keepIfWhole(coordinatorJar, coordinatorArchive);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      // no archive then: JVMs start the ordinary way
    }
  }

  /** Where a trainee writes its archive: beside the real name, renamed into place once known to be whole. */
  private static Path partOf(Path archive) {
    return archive.resolveSibling(archive.getFileName() + ".part");
  }

  /**
   * An archive cut short (a trainee killed while it wrote it) crashes every JVM that maps it (SIGBUS), so the dump is
   * tried once with {@code -Xshare:on}, which refuses what it cannot map, before it takes the name JVMs start from.
   */
  private static void keepIfWhole(String jar, Path archive) throws IOException, InterruptedException {
    Path part = partOf(archive);
    if (!Files.exists(part)) {
      return;
    }
    List<String> cmd = new ArrayList<>(List.of(javaBin()));
    cmd.addAll(SMALL_JVM);
    cmd.addAll(List.of("-Xshare:on", "-XX:SharedArchiveFile=" + part, "-jar", jar, "--help"));
    Process check = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    boolean whole = check.waitFor(60, TimeUnit.SECONDS) && check.exitValue() == 0;
    if (!whole) {
      check.destroyForcibly();
      Files.deleteIfExists(part);
      return;
    }
    Files.move(part, archive, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  private static Process trainee(String jar, Path archive, List<String> args, Path log) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(javaBin()));
    cmd.addAll(SMALL_JVM);
    cmd.add("-XX:ArchiveClassesAtExit=" + partOf(archive));
    cmd.addAll(List.of("-jar", jar));
    cmd.addAll(args);
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static Process java(String jar, List<String> args, Path log) {
    return java(jar, args, log, Map.of());
  }

  private static Process java(String jar, List<String> args, Path log, Map<String, String> environment) {
    if (jar == null || !Files.exists(Path.of(jar))) {
      throw new IllegalStateException("jar " + jar + " not found; run the tests with `mvn verify` so the jars are built first");
    }
    List<String> cmd = new ArrayList<>(List.of(javaBin()));
    cmd.addAll(SMALL_JVM);
    if (jar.equals(System.getProperty("lockstep.coordinatorJar")) && !args.isEmpty() && args.get(0).equals("serve")) {
      cmd.add(OFF_LOOP_WRITES_FAIL);
    }
    cmd.addAll(classDataOf(jar));
    cmd.addAll(List.of("-jar", jar));
    cmd.addAll(args);
    try {
      ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      builder.environment().putAll(environment);
      return builder.start();
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

  /**
   * Starts the coordinator against these store URLs (a proxy, a Redis of the test's own) with a fresh
   * {@code logName}, and returns at once: it may not be ready yet, or may be meant to exit. It becomes the
   * primary: {@link #url()}, {@link #api()} and agents started later talk to it.
   */
  Process startCoordinatorAgainst(String databaseUrl, String redisUrl, Path migrations, String logName) {
    try {
      Files.deleteIfExists(dir.resolve(logName));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Coordinator c = new Coordinator(logName.endsWith(".log") ? logName.substring(0, logName.length() - 4) : logName,
        freePort(), migrations);
    c.logName = logName;
    c.databaseUrl = databaseUrl;
    c.storeRedisUrl = redisUrl;
    coordinators.add(c);
    primary = c;
    return c.start().process;
  }

  /**
   * Starts a coordinator against {@code databaseUrl} and {@code redisUrl} that is expected to end by itself
   * (a configuration error) within {@code limit}, and returns its exit status.
   */
  int exitStatusAgainst(String databaseUrl, String redisUrl, String logName, Duration limit) throws InterruptedException {
    Process p = startCoordinatorAgainst(databaseUrl, redisUrl, null, logName);
    if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("coordinator still running after " + limit.toSeconds() + " s; see " + dir.resolve(logName));
    }
    return p.exitValue();
  }

  /**
   * The one line a configuration error left in {@code logName}: it must be the only one of its kind, and the log
   * must hold no stack trace.
   */
  String configurationError(String logName) throws IOException {
    List<String> lines = Files.readAllLines(dir.resolve(logName));
    List<String> stack = lines.stream().filter(l -> l.startsWith("\tat ")).toList();
    List<String> errors = lines.stream().filter(l -> l.contains("configuration error")).toList();
    if (!stack.isEmpty() || errors.size() != 1) {
      throw new AssertionError("expected one configuration error and no stack trace in " + logName + ":\n"
          + String.join("\n", lines));
    }
    return errors.get(0);
  }
}
