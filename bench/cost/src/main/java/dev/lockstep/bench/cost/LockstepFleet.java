package dev.lockstep.bench.cost;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * One coordinator process and its agents (real processes, the jars and JVM flags the README gives) for one chain
 * on one fresh database, as a user runs Lockstep. Hooks append {@code <millis> <agent> <hook>} to
 * {@code hooks.log}; with Alembic the coordinator runs {@code alembic} through a wrapper that logs each
 * invocation's start, end and arguments to {@code alembic-calls.log}.
 *
 * <pre>{@code
 * try (LockstepFleet f = new LockstepFleet(setup, chain, db, dir)) {
 *   f.start(1, id -> "");            // coordinator + one agent, timed
 *   Spawn.Done release = f.release("v1");
 * }}</pre>
 */
final class LockstepFleet implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  final String service = "bc-" + UUID.randomUUID().toString().substring(0, 8);
  final Path dir;
  final Path hookLog;
  final Path alembicLog;
  final Path toolLog;
  private final Setup setup;
  private final Chain chain;
  private final Scratch db;
  private final int port = freePort();
  private Spawn coordinator;
  private final List<Spawn> agents = new ArrayList<>();
  long coordinatorSpawnedAt;
  long coordinatorReadyAt;
  long agentsSpawnedAt;
  long agentsRegisteredAt;

  LockstepFleet(Setup setup, Chain chain, Scratch db, Path dir) {
    this.setup = setup;
    this.chain = chain;
    this.db = db;
    this.dir = Chain.fresh(dir);
    this.hookLog = dir.resolve("hooks.log");
    this.alembicLog = dir.resolve("alembic-calls.log");
    this.toolLog = dir.resolve("tools.log");
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  /**
   * Starts the coordinator and {@code n} agents at once (ids {@code a1…an}), and waits until the coordinator is
   * ready and every agent is registered. {@code onSwitch} adds shell to agent i's switch hook.
   */
  void start(int n, java.util.function.IntFunction<String> onSwitch) {
    try {
      Files.writeString(hookLog, "");
      String token = Spawn.check(setup.lockstep(Setup.COORDINATOR_JVM, "agent-token", "--service", service, "--any-id",
          "--agent-secret", Setup.AGENT_SECRET), dir, java.util.Map.of(), 60_000).lines()
          .filter(l -> !l.isBlank()).reduce((a, b) -> b).orElseThrow().trim();
      List<String> serve = new ArrayList<>(List.of("serve", "--port", Integer.toString(port), "--host", "127.0.0.1",
          "--database-url", db.url(), "--redis-url", setup.redisUrl(), "--service", service,
          "--token", Setup.OPERATOR_TOKEN, "--agent-secret", Setup.AGENT_SECRET));
      if (chain.tool() == Chain.Tool.FLYWAY) {
        serve.addAll(List.of("--migrations", chain.folder().toString()));
      } else {
        Path wrapper = alembicWrapper();
        serve.addAll(List.of("--engine", "alembic", "--alembic-config", chain.ini().toString(), "--alembic-command",
            wrapper.toString()));
      }
      coordinator = Spawn.of(setup.lockstep(Setup.serveJvm(), serve.toArray(String[]::new))).in(dir)
          .env("PATH", loggedTools() + ":" + System.getenv("PATH")).log(dir.resolve("coordinator.log")).start();
      coordinatorSpawnedAt = coordinator.spawnedAt;
      agentsSpawnedAt = System.currentTimeMillis();
      for (int i = 1; i <= n; i++) {
        agents.add(startAgent("a" + i, token, onSwitch.apply(i)));
      }
      coordinatorReadyAt = await("coordinator /health", () -> get("/health") != null);
      agentsRegisteredAt = await("all agents registered", () -> registered() >= n);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Spawn startAgent(String id, String token, String onSwitch) throws IOException {
    Path revision = dir.resolve("revision-" + id);
    Files.writeString(revision, "v0\n");
    String log = "echo \"$(date +%s%3N) " + id + " HOOK\" >> " + hookLog;
    List<String> cmd = new ArrayList<>(List.of("java"));
    cmd.addAll(Setup.AGENT_JVM);
    cmd.addAll(List.of("-jar", setup.agentJar().toString(), "--coordinator", url(), "--id", id, "--service", service,
        "--revision-command", "cat " + revision, "--token", token, "--migrations", chain.staged().toString(),
        "--on-prepare", log.replace("HOOK", "prepare"),
        "--on-switch", log.replace("HOOK", "switch") + " && echo $LOCKSTEP_TARGET_REVISION > " + revision + onSwitch,
        "--on-abort", log.replace("HOOK", "abort")));
    return Spawn.of(cmd).in(dir).log(dir.resolve("agent-" + id + ".log")).start();
  }

  /**
   * A folder put first on the coordinator's PATH with {@code pg_dump}, {@code psql} and {@code python3} scripts that
   * log each run (start, end, exit code, tool) to {@code tools.log} and run the real one: the Alembic engine makes its
   * schema-only clone with the first two and runs its Alembic driver (which reads the revision modules too) with the
   * third.
   */
  private Path loggedTools() throws IOException {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Files.writeString(toolLog, "");
    for (String tool : List.of("pg_dump", "psql", "python3")) {
      String real = tool.equals("python3") ? alembicPython()
          : Spawn.check(List.of("bash", "-c", "command -v " + tool), dir, java.util.Map.of(), 10_000).trim();
      Path script = bin.resolve(tool);
      Files.writeString(script, """
          #!/bin/bash
          start=$(date +%%s%%3N)
          %s "$@"
          rc=$?
          echo "$start $(date +%%s%%3N) $rc %s" >> %s
          exit $rc
          """.formatted(real, tool, toolLog));
      script.toFile().setExecutable(true);
    }
    return bin;
  }

  /**
   * The interpreter the coordinator would take from the {@code alembic} script's {@code #!} line (it reads revision
   * modules and runs its Alembic driver with it). Behind the logging wrapper it cannot see that line and runs {@code python3} from PATH, so the
   * PATH's {@code python3} is a logged alias of that same interpreter.
   */
  private String alembicPython() {
    String alembic = setup.alembic().split(" ")[0];
    String path = Spawn.check(List.of("bash", "-c", "command -v " + alembic), dir, java.util.Map.of(), 10_000).trim();
    try {
      String first = Files.readAllLines(Path.of(path), java.nio.charset.StandardCharsets.ISO_8859_1).get(0);
      if (first.startsWith("#!") && first.contains("python")) {
        return first.substring(2).trim();
      }
    } catch (IOException | RuntimeException e) {
      // a binary launcher: python3 from PATH, as the coordinator would
    }
    return Spawn.check(List.of("bash", "-c", "command -v python3"), dir, java.util.Map.of(), 10_000).trim();
  }

  /** {@code pg_dump}/{@code psql}/{@code python3} runs of the coordinator: {@code <start> <end> <exit> <tool>}. */
  List<String> toolCalls() {
    return lines(toolLog);
  }

  /** A script on the coordinator's {@code --alembic-command} that logs each alembic run, then runs the real one. */
  private Path alembicWrapper() throws IOException {
    Path wrapper = dir.resolve("alembic-logged");
    Files.writeString(wrapper, """
        #!/bin/bash
        # Logs each alembic run the coordinator makes: start, end (millis), exit code, arguments.
        start=$(date +%%s%%3N)
        %s "$@"
        rc=$?
        echo "$start $(date +%%s%%3N) $rc $*" >> %s
        exit $rc
        """.formatted(setup.alembic(), alembicLog));
    wrapper.toFile().setExecutable(true);
    Files.writeString(alembicLog, "");
    return wrapper;
  }

  /** {@code lockstep release --revision R --json} from the CLI, as an operator or CI runs it, to its end. */
  Spawn.Done release(String revision, String... extra) {
    List<String> args = new ArrayList<>(List.of("release", "--coordinator", url(), "--token", Setup.OPERATOR_TOKEN,
        "--revision", revision, "--json"));
    args.addAll(List.of(extra));
    return setup.cli(args.toArray(String[]::new)).in(dir)
        .log(dir.resolve("release-" + revision + ".json")).errors(dir.resolve("release-" + revision + ".err")).run(30 * 60_000L);
  }

  /** Every event of release {@code id}, as {@code GET /v1/releases/{id}/events} streams them (it ends with the document). */
  List<String> events(String id) {
    try {
      HttpRequest req = HttpRequest.newBuilder(URI.create(url() + "/v1/releases/" + id + "/events"))
          .header("Authorization", "Bearer " + Setup.OPERATOR_TOKEN).timeout(Duration.ofSeconds(30)).build();
      HttpResponse<java.io.InputStream> res = HTTP.send(req, HttpResponse.BodyHandlers.ofInputStream());
      List<String> data = new ArrayList<>();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
        String event = "message";
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          if (line.startsWith("event:")) {
            event = line.substring(6).trim();
          } else if (line.startsWith("data:")) {
            if ("end".equals(event)) {
              return data;
            }
            data.add(line.substring(5).trim());
          } else if (line.isEmpty()) {
            event = "message";
          }
        }
      }
      return data;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Hook lines {@code <millis> <agent> <hook>}. */
  List<String[]> hooks() {
    return lines(hookLog).stream().map(l -> l.trim().split(" ")).toList();
  }

  /** Alembic runs {@code <start> <end> <exit> <args…>}. */
  List<String> alembicCalls() {
    return lines(alembicLog);
  }

  private static List<String> lines(Path file) {
    try {
      return Files.exists(file) ? Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList() : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private int registered() {
    String body = get("/v1/agents?service=" + service);
    if (body == null) {
      return 0;
    }
    try {
      var agentsNode = dev.lockstep.protocol.Json.mapper().readTree(body).path("agents");
      int live = 0;
      for (var a : agentsNode) {
        if (!"lost".equals(a.path("state").asText())) {
          live++;
        }
      }
      return live;
    } catch (IOException e) {
      return 0;
    }
  }

  private String get(String path) {
    try {
      HttpRequest req = HttpRequest.newBuilder(URI.create(url() + path)).header("Authorization", "Bearer " + Setup.OPERATOR_TOKEN)
          .timeout(Duration.ofSeconds(5)).build();
      HttpResponse<String> res = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
      return res.statusCode() == 200 ? res.body() : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Polls every 20 ms; returns the moment (epoch millis) {@code ready} first held. */
  private long await(String what, java.util.function.BooleanSupplier ready) {
    long deadline = System.currentTimeMillis() + 120_000;
    while (System.currentTimeMillis() < deadline) {
      if (!coordinator.alive()) {
        throw new IllegalStateException("the coordinator exited; see " + coordinator.logFile());
      }
      if (ready.getAsBoolean()) {
        return System.currentTimeMillis();
      }
      sleep(20);
    }
    throw new IllegalStateException("waited 120 s for " + what + "; see " + dir);
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    agents.forEach(Spawn::stop);
    if (coordinator != null) {
      coordinator.stop();
    }
    // The shared Redis keeps one registry key per service; this run's service is ours to remove.
    try {
      Spawn.of(List.of("redis-cli", "-u", setup.redisUrl(), "DEL", "lockstep:agents:" + service)).run(10_000);
    } catch (RuntimeException ignored) {
      // redis-cli missing: a small key left behind, nothing else
    }
  }
}
