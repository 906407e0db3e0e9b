package dev.lockstep.bench.fleet;

import static dev.lockstep.bench.fleet.FleetBench.await;
import static dev.lockstep.bench.fleet.FleetBench.put;
import static dev.lockstep.bench.fleet.FleetBench.sleep;
import static dev.lockstep.bench.fleet.FleetBench.summary;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Real agent processes against one real coordinator: one agent's start-up time (process start → its first report
 * listed by the coordinator) and resident memory, a few times; then twelve agents with a switch hook that writes the
 * moment it starts (bash's {@code $EPOCHREALTIME}, µs), released together. The agents run with their DEBUG lines on,
 * which carry microsecond wall-clock times: when the blocking query's answer arrived, when it was decoded, when the
 * switch hook was handed to the worker, forked, and running. Those split the hooks' spread into its parts.
 */
final class RealAgentRun {
  private static final Logger LOG = LoggerFactory.getLogger(RealAgentRun.class);
  private static final Pattern ANSWERED = Pattern.compile("blocking query answered 200 \\(\\d+ bytes\\) at (\\S+)");
  private static final Pattern DECODED = Pattern.compile("desired state index \\d+ \\((\\w+)\\) decoded at (\\S+)");
  private static final Pattern HANDED = Pattern.compile("switch hook handed to the worker at (\\S+)");
  private static final Pattern PICKED = Pattern.compile("switch hook picked up by the worker at (\\S+)");
  private static final Pattern FORKING = Pattern.compile("switch hook forking at (\\S+)");
  private static final Pattern FORKED = Pattern.compile("switch hook process \\d+ started at (\\S+)");
  /** A switch hook primed once the agent prepared (HookRunner.prime): its shell is let go instead of forked. */
  private static final Pattern RELEASED = Pattern.compile("switch hook released at (\\S+)");
  /** The agent's DEBUG line when the desired state carries a switch time (Agent.switchTime). */
  private static final Pattern SWITCH_AT = Pattern.compile("switch hook runs at (\\S+), in");
  /** The agent's INFO line when its primed shell was told the switch time and starts the hook itself (Primed.releaseAt). */
  private static final Pattern SCHEDULED = Pattern.compile("switch hook scheduled: its shell");

  private final FleetBench bench;
  private final BenchOptions options;
  private final Path migrations;
  private final String database;
  private final String service;

  RealAgentRun(FleetBench bench, Path migrations) {
    this.bench = bench;
    this.options = bench.options();
    this.migrations = migrations;
    this.database = "lockstep_bench_" + bench.stamp().replace("-", "_") + "_real";
    this.service = "bench-" + bench.stamp() + "-real";
  }

  ObjectNode run() throws Exception {
    ObjectNode out = Json.mapper().createObjectNode();
    bench.stores().createDatabase(database);
    Vertx vertx = FleetBench.vertx(1);
    CoordinatorProcess coordinator = null;
    try {
      coordinator = CoordinatorProcess.start(bench.coordinatorSettings(database, service, migrations, List.of()),
          options.portBase() + 50, bench.work().resolve("coordinator-real.log"));
      OperatorApi api = new OperatorApi(vertx, bench.operatorToken(), 4);
      out.set("startup", startup(api, coordinator));
      out.set("switchHook", twelve(api, coordinator));
      out.put("ok", out.path("switchHook").path("phase").asText().equals("COMPLETED"));
      return out;
    } finally {
      if (coordinator != null) {
        coordinator.close();
      }
      vertx.close();
      bench.stores().dropDatabase(database);
      bench.stores().forgetService(service);
    }
  }

  private String token(String id) {
    return new AgentTokens(bench.agentSecret()).token(service, id);
  }

  /** One agent at a time: process start → the coordinator lists it; resident memory once it has settled. */
  private ObjectNode startup(OperatorApi api, CoordinatorProcess coordinator) throws Exception {
    ArrayNode samples = Json.mapper().createArrayNode();
    List<Double> starts = new ArrayList<>();
    List<Double> rss = new ArrayList<>();
    for (int k = 1; k <= options.realAgentSamples(); k++) {
      String id = "solo-" + k;
      try (RealAgentProcess agent = RealAgentProcess.start(bench.agentJar(), List.of(), coordinator.url(), service, id,
          token(id), migrations, null, bench.work().resolve("agent-" + id + ".log"))) {
        String url = coordinator.url() + "/v1/agents/" + id + "?service=" + OperatorApi.encode(service);
        long deadline = System.nanoTime() + 60_000_000_000L;
        double startMs = Double.NaN;
        while (System.nanoTime() < deadline) {
          if (await(api.get(url), 10).status() == 200) {
            startMs = (System.nanoTime() - agent.startedNanos) / 1e6;
            break;
          }
          Thread.sleep(20);
        }
        sleep(options.quick() ? 3 : 8);
        double mb = ProcessMeter.rssKb(agent.pid()) / 1024.0;
        ObjectNode sample = samples.addObject();
        put(sample, "startupMs", startMs);
        put(sample, "rssMb", mb);
        starts.add(startMs);
        rss.add(mb);
      }
      await(api.send(HttpMethod.DELETE, coordinator.url() + "/v1/agents/" + id + "?service="
          + OperatorApi.encode(service), null, 10_000), 20);
    }
    ObjectNode out = Json.mapper().createObjectNode();
    out.set("samples", samples);
    out.set("startupMs", summary(Summary.of(starts.stream().mapToDouble(d -> d).toArray())));
    out.set("rssMb", summary(Summary.of(rss.stream().mapToDouble(d -> d).toArray())));
    out.putPOJO("jvmFlags", RealAgentProcess.README_FLAGS);
    return out;
  }

  private ObjectNode twelve(OperatorApi api, CoordinatorProcess coordinator) throws Exception {
    int n = options.twelve();
    Path hooks = Files.createDirectories(bench.work().resolve("switch-hooks"));
    Path hook = bench.work().resolve("switch-hook.sh");
    // bash, for $EPOCHREALTIME without forking date(1): the first thing the hook does is note the time.
    Files.writeString(hook, "#!/bin/bash\necho \"$EPOCHREALTIME\" > \"" + hooks + "/$LOCKSTEP_AGENT_ID\"\n");
    hook.toFile().setExecutable(true);
    Path logback = bench.work().resolve("agent-debug-logback.xml");
    Files.writeString(logback, """
        <configuration>
          <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
            <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %msg%n</pattern></encoder>
          </appender>
          <logger name="io.netty" level="WARN"/>
          <logger name="io.vertx" level="WARN"/>
          <logger name="dev.lockstep.agent" level="DEBUG"/>
          <root level="INFO"><appender-ref ref="CONSOLE"/></root>
        </configuration>
        """);
    List<RealAgentProcess> agents = new ArrayList<>();
    ObjectNode out = Json.mapper().createObjectNode();
    out.put("agents", n);
    try {
      for (int i = 1; i <= n; i++) {
        String id = String.format("real-%02d", i);
        agents.add(RealAgentProcess.start(bench.agentJar(), List.of("-Dlogback.configurationFile=" + logback),
            coordinator.url(), service, id, token(id), migrations, hook.toString(),
            bench.work().resolve("agent-" + id + ".log")));
      }
      long deadline = System.nanoTime() + 120_000_000_000L;
      while (api.awaitListing(coordinator.url(), service, 30).agents() < n && System.nanoTime() < deadline) {
        Thread.sleep(200);
      }
      // Let the JVMs settle (JIT, first GCs) as servers that have been running would have.
      sleep(options.quick() ? 3 : 10);
      OperatorApi.Answer created = await(api.send(HttpMethod.POST, coordinator.url() + "/v1/releases",
          "{\"revision\":\"v1\"}", 30_000), 60);
      if (created.status() != 202) {
        throw new IllegalStateException("POST /v1/releases answered " + created.status() + ": " + created.body());
      }
      String id = created.json().path("id").asText();
      List<JsonNode> stream = await(api.events(coordinator.url(), id, 600_000), 660);
      JsonNode doc = await(api.get(coordinator.url() + "/v1/releases/" + id), 30).json();
      out.put("phase", doc.path("phase").asText());
      if (doc.hasNonNull("switchSkewMs")) {
        out.put("coordinatorSwitchSkewMs", doc.get("switchSkewMs").asLong());
      }
      List<JsonNode> events = stream.stream().filter(e -> e.has("seq")).toList();
      ReleaseTimeline timeline = new ReleaseTimeline(Instant.parse(doc.path("createdAt").asText()), events);
      put(out, "requestToCompletedMs", timeline.sinceRequestMs(Phase.COMPLETED));
      Instant written = timeline.entered(Phase.SWITCHING);
      out.put("switchingWrittenAt", String.valueOf(written));
      out.set("breakdown", breakdown(agents, hooks, written));
    } finally {
      for (RealAgentProcess agent : agents) {
        agent.close();
      }
    }
    return out;
  }

  /** Per agent, the moments of its switch; then each stage's durations and each moment's spread over the agents. */
  private ObjectNode breakdown(List<RealAgentProcess> agents, Path hooks, Instant written) throws Exception {
    Map<String, List<Double>> stages = new LinkedHashMap<>();
    Map<String, List<Double>> moments = new LinkedHashMap<>();
    ArrayNode perAgent = Json.mapper().createArrayNode();
    double writtenMs = written == null ? Double.NaN : written.getEpochSecond() * 1000.0 + written.getNano() / 1e6;
    for (RealAgentProcess agent : agents) {
      Path recorded = hooks.resolve(agent.id);
      if (!Files.exists(recorded)) {
        LOG.warn("agent {} ran no switch hook; see {}", agent.id, agent.log);
        continue;
      }
      double hookMs = Double.parseDouble(Files.readString(recorded).strip()) * 1000.0;
      double answered = Double.NaN;
      double decoded = Double.NaN;
      double handed = Double.NaN;
      double picked = Double.NaN;
      double forking = Double.NaN;
      double forked = Double.NaN;
      double released = Double.NaN;
      double switchAt = Double.NaN;
      boolean scheduled = false;
      double lastAnswered = Double.NaN;
      for (String line : Files.readAllLines(agent.log)) {
        Matcher m;
        if ((m = ANSWERED.matcher(line)).find()) {
          lastAnswered = epochMs(m.group(1));
        } else if ((m = DECODED.matcher(line)).find()) {
          if (Double.isNaN(decoded) && Phase.valueOf(m.group(1)).switchedOrLater()) {
            decoded = epochMs(m.group(2));
            answered = lastAnswered;
          }
        } else if ((m = HANDED.matcher(line)).find() && Double.isNaN(handed)) {
          handed = epochMs(m.group(1));
        } else if ((m = PICKED.matcher(line)).find() && Double.isNaN(picked)) {
          picked = epochMs(m.group(1));
        } else if ((m = FORKING.matcher(line)).find() && Double.isNaN(forking)) {
          forking = epochMs(m.group(1));
        } else if ((m = FORKED.matcher(line)).find() && Double.isNaN(forked)) {
          forked = epochMs(m.group(1));
        } else if ((m = RELEASED.matcher(line)).find() && Double.isNaN(released)) {
          released = epochMs(m.group(1));
        } else if ((m = SWITCH_AT.matcher(line)).find() && Double.isNaN(switchAt)) {
          switchAt = epochMs(m.group(1));
        } else if (SCHEDULED.matcher(line).find()) {
          scheduled = true;
        }
      }
      ObjectNode a = perAgent.addObject();
      a.put("id", agent.id);
      add(stages, "wakeUp: SWITCHING written → answer received", answered - writtenMs, a, "wakeUpMs");
      add(stages, "decode: answer received → decoded", decoded - answered, a, "decodeMs");
      if (Double.isNaN(released)) {
        add(stages, "act: decoded → hook handed to the worker", handed - decoded, a, "actMs");
        add(stages, "worker: handed → picked up by the worker thread", picked - handed, a, "workerMs");
        add(stages, "setup: picked up → fork begins (environment, hook ledger)", forking - picked, a, "setupMs");
        add(stages, "fork: fork begins → ProcessBuilder.start returned", forked - forking, a, "forkMs");
        add(stages, "exec: fork begins → hook's first line", hookMs - forking, a, "hookStartAfterForkMs");
      } else if (!scheduled) {
        add(stages, "release: decoded → primed hook let go (the wait for switchAt included)", released - decoded, a,
            "releaseMs");
        add(stages, "run: let go → hook's first line (read, exec)", hookMs - released, a, "runMs");
      }
      if (!Double.isNaN(switchAt)) {
        add(stages, "ahead: decoded → switchAt (how early the agent knew)", switchAt - decoded, a, "aheadMs");
        add(stages, scheduled ? "late: switchAt → hook's first line (its shell woke, exec)"
            : "late: switchAt → hook's first line (the agent's timer, let go, exec)", hookMs - switchAt, a, "lateMs");
      }
      add(stages, "total: SWITCHING written → hook's first line", hookMs - writtenMs, a, "totalMs");
      moments.computeIfAbsent("answer received", k -> new ArrayList<>()).add(answered);
      moments.computeIfAbsent("decoded", k -> new ArrayList<>()).add(decoded);
      if (!scheduled) {
        moments.computeIfAbsent(Double.isNaN(released) ? "fork begins" : "hook let go", k -> new ArrayList<>())
            .add(Double.isNaN(released) ? forking : released);
      }
      moments.computeIfAbsent("hook started", k -> new ArrayList<>()).add(hookMs);
    }
    ObjectNode out = Json.mapper().createObjectNode();
    ObjectNode spreads = out.putObject("spreadMs");
    moments.forEach((name, values) -> {
      double[] v = values.stream().mapToDouble(d -> d).filter(d -> !Double.isNaN(d)).toArray();
      put(spreads, name, v.length == 0 ? Double.NaN : Summary.of(v).max() - Summary.of(v).min());
    });
    ObjectNode stageNode = out.putObject("stagesMs");
    stages.forEach((name, values) -> stageNode.set(name,
        summary(Summary.of(values.stream().mapToDouble(d -> d).filter(d -> !Double.isNaN(d)).toArray()))));
    out.set("perAgent", perAgent);
    return out;
  }

  private static void add(Map<String, List<Double>> stages, String name, double ms, ObjectNode agent, String field) {
    stages.computeIfAbsent(name, k -> new ArrayList<>()).add(ms);
    put(agent, field, ms);
  }

  private static double epochMs(String instant) {
    Instant at = Instant.parse(instant);
    return at.getEpochSecond() * 1000.0 + at.getNano() / 1e6;
  }
}
