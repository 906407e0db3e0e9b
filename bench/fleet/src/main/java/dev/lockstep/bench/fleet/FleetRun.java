package dev.lockstep.bench.fleet;

import static dev.lockstep.bench.fleet.FleetBench.await;
import static dev.lockstep.bench.fleet.FleetBench.latencies;
import static dev.lockstep.bench.fleet.FleetBench.put;
import static dev.lockstep.bench.fleet.FleetBench.sleep;
import static dev.lockstep.bench.fleet.FleetBench.summary;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One fleet size, from a fresh database to the release's end: idle coordinators, the whole fleet starting at once,
 * steady state, the status API under a dashboard's load, one release. Periods are named the same in the report
 * latencies and the coordinators' CPU/RSS samples.
 */
final class FleetRun {
  private static final Logger LOG = LoggerFactory.getLogger(FleetRun.class);
  private static final String IDLE = "idle";
  private static final String COLD = "cold start";
  private static final String STEADY = "steady";
  private static final String LIST = "status list";
  private static final String SINGLE = "status agent";
  private static final String RELEASE = "release";
  private static final String AFTER = "after release";

  private final FleetBench bench;
  private final BenchOptions options;
  private final int size;
  private final Path migrations;
  private final String database;
  private final String service;

  FleetRun(FleetBench bench, int size, Path migrations) {
    this.bench = bench;
    this.options = bench.options();
    this.size = size;
    this.migrations = migrations;
    this.database = "lockstep_bench_" + bench.stamp().replace("-", "_") + "_" + size;
    this.service = "bench-" + bench.stamp() + "-" + size;
  }

  ObjectNode run() throws Exception {
    ObjectNode out = Json.mapper().createObjectNode();
    out.put("agents", size);
    out.put("coordinators", options.coordinators());
    out.put("service", service);
    LOG.info("fleet of {} agents, {} coordinator(s): database {}", size, options.coordinators(), database);
    bench.stores().createDatabase(database);
    List<CoordinatorProcess> coordinators = new ArrayList<>();
    List<ProcessMeter> meters = new ArrayList<>();
    ProcessMeter self = new ProcessMeter(ProcessHandle.current().pid(), 500);
    Vertx agentsVertx = FleetBench.vertx(4);
    Vertx operatorVertx = FleetBench.vertx(1);
    SimulatedFleet fleet = null;
    try {
      for (int i = 0; i < options.coordinators(); i++) {
        Path log = bench.work().resolve("coordinator-" + size + "-" + i + ".log");
        coordinators.add(CoordinatorProcess.start(bench.coordinatorSettings(database, service, migrations, List.of()),
            options.portBase() + i, log));
        meters.add(new ProcessMeter(coordinators.get(i).pid(), 500));
      }
      OperatorApi api = new OperatorApi(operatorVertx, bench.operatorToken(), options.statusClients() + 4);
      sleep(options.quick() ? 2 : 5);

      List<String> ids = new ArrayList<>();
      for (int i = 1; i <= size; i++) {
        ids.add(String.format("agent-%05d", i));
      }
      FleetProbe probe = new FleetProbe(size);
      fleet = new SimulatedFleet(agentsVertx, FleetBench.uris(coordinators), service, ids, "v0",
          FleetBench.digest(migrations), new AgentTokens(bench.agentSecret()), FleetBench.REPORT_INTERVAL,
          FleetBench.POLL_WAIT, probe, 8);
      await(fleet.deploy(), 120);
      // What thousands of agents' clients cost this JVM, to size BENCH_JVM's heap for bigger fleets.
      System.gc();
      Runtime rt = Runtime.getRuntime();
      put(out, "benchHeapAfterDeployMb", (rt.totalMemory() - rt.freeMemory()) / 1048576.0);

      period(COLD, probe, meters, self);
      fleet.startAll();
      out.set("coldStart", coldStart(fleet, probe, api, coordinators));

      period(STEADY, probe, meters, self);
      sleep(options.steadySeconds());

      out.set("statusApi", statusApi(api, coordinators, ids, probe, meters, self));

      period(RELEASE, probe, meters, self);
      out.set("release", release(api, coordinators, probe));
      period(AFTER, probe, meters, self);
      sleep(REPORT_SECONDS);
      OperatorApi.Listing after = listing(api, coordinators.get(0));
      out.putPOJO("afterRelease", Map.of("listed", after.agents(), "byState", after.byState()));

      ObjectNode reports = out.putObject("reports");
      for (String p : List.of(COLD, STEADY, LIST, SINGLE, RELEASE, AFTER)) {
        reports.set(p, latencies(probe.reports(p), 0));
      }
      out.put("pollFailures", probe.pollFailures());
      out.put("digestMismatches", probe.digestMismatches());
      ArrayNode usage = out.putArray("coordinatorUsage");
      for (ProcessMeter meter : meters) {
        usage.add(usage(meter));
      }
      out.set("benchJvmUsage", usage(self));
      boolean ok = out.path("release").path("phase").asText().equals("COMPLETED")
          && out.path("coldStart").path("allRegistered").asBoolean();
      out.put("ok", ok);
      return out;
    } finally {
      if (fleet != null) {
        try {
          await(fleet.stop(), 30);
        } catch (Exception e) {
          LOG.warn("stopping the simulated fleet: {}", e.toString());
        }
      }
      agentsVertx.close();
      operatorVertx.close();
      for (CoordinatorProcess c : coordinators) {
        c.close();
      }
      meters.forEach(ProcessMeter::close);
      self.close();
      bench.stores().dropDatabase(database);
      bench.stores().forgetService(service);
    }
  }

  private static final double REPORT_SECONDS = 2.5;

  private static void period(String name, FleetProbe probe, List<ProcessMeter> meters, ProcessMeter self) {
    probe.period(name);
    meters.forEach(m -> m.period(name));
    self.period(name);
  }

  /** Every agent's first report at once: until each was accepted, then one more report interval of the storm. */
  private ObjectNode coldStart(SimulatedFleet fleet, FleetProbe probe, OperatorApi api,
                               List<CoordinatorProcess> coordinators) throws Exception {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (probe.registeredCount() < size && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    ObjectNode out = Json.mapper().createObjectNode();
    long started = fleet.startedNanos();
    double[] registered = Arrays.stream(probe.registeredNanos()).filter(t -> t != 0)
        .mapToDouble(t -> (t - started) / 1e6).toArray();
    out.put("allRegistered", registered.length == size);
    out.put("registered", registered.length);
    out.set("firstReportAcceptedMs", summary(Summary.of(registered)));
    // The coordinator's own view: how many agents it lists, and how soon after the start it listed them all.
    long listDeadline = System.nanoTime() + 30_000_000_000L;
    OperatorApi.Listing listed;
    do {
      listed = listing(api, coordinators.get(coordinators.size() - 1));
    } while (listed.agents() < size && System.nanoTime() < listDeadline && pause(100));
    put(out, "allListedAfterMs", listed.agents() >= size ? (System.nanoTime() - started) / 1e6 : Double.NaN);
    out.put("listed", listed.agents());
    out.put("listPages", listed.pages());
    sleep(REPORT_SECONDS);
    return out;
  }

  private static boolean pause(long ms) throws InterruptedException {
    Thread.sleep(ms);
    return true;
  }

  private OperatorApi.Listing listing(OperatorApi api, CoordinatorProcess coordinator) throws Exception {
    return api.awaitListing(coordinator.url(), service, 60);
  }

  /** A dashboard: the list endpoint, then the single-agent endpoint, each with several clients, spread over instances. */
  private ObjectNode statusApi(OperatorApi api, List<CoordinatorProcess> coordinators, List<String> ids,
                               FleetProbe probe, List<ProcessMeter> meters, ProcessMeter self) throws Exception {
    ObjectNode out = Json.mapper().createObjectNode();
    int[] turn = {0};
    period(LIST, probe, meters, self);
    StatusLoad list = await(StatusLoad.run(options.statusClients(), options.statusSeconds(), () -> {
      CoordinatorProcess c = coordinators.get(turn[0]++ % coordinators.size());
      return api.listAgents(c.url(), service, null).compose(l -> l.agents() >= size ? Future.succeededFuture(l)
          : Future.failedFuture("listed " + l.agents() + " of " + size));
    }), 120);
    out.set("list", latencies(list.latencies(), list.seconds()));
    OperatorApi.Listing one = listing(api, coordinators.get(0));
    out.put("listPages", one.pages());
    out.put("listBytes", await(api.get(coordinators.get(0).url() + "/v1/agents?service=" + OperatorApi.encode(service)),
        30).body().length());
    period(SINGLE, probe, meters, self);
    StatusLoad single = await(StatusLoad.run(options.statusClients(), options.statusSeconds(), () -> {
      CoordinatorProcess c = coordinators.get(turn[0]++ % coordinators.size());
      String url = c.url() + "/v1/agents/" + OperatorApi.encode(FleetBench.pick(ids)) + "?service="
          + OperatorApi.encode(service);
      return api.get(url).compose(a -> a.status() == 200 ? Future.succeededFuture(a)
          : Future.failedFuture("answered " + a.status()));
    }), 120);
    out.set("agent", latencies(single.latencies(), single.seconds()));
    out.put("clients", options.statusClients());
    return out;
  }

  /** One release of one migration, requested from the first instance; followed through its event stream to the end. */
  private ObjectNode release(OperatorApi api, List<CoordinatorProcess> coordinators, FleetProbe probe)
      throws Exception {
    ObjectNode out = Json.mapper().createObjectNode();
    probe.resetLearned();
    String base = coordinators.get(0).url();
    long posted = System.nanoTime();
    OperatorApi.Answer created = await(api.send(HttpMethod.POST, base + "/v1/releases",
        "{\"revision\":\"v1\"}", 30_000), 60);
    if (created.status() != 202) {
      throw new IllegalStateException("POST /v1/releases answered " + created.status() + ": " + created.body());
    }
    String id = created.json().path("id").asText();
    out.put("id", id);
    List<JsonNode> stream = await(api.events(base, id, 600_000), 660);
    double benchMs = (System.nanoTime() - posted) / 1e6;
    OperatorApi.Answer docAnswer = await(api.get(base + "/v1/releases/" + OperatorApi.encode(id)), 60);
    JsonNode doc = docAnswer.json();
    List<JsonNode> events = stream.stream().filter(e -> e.has("seq")).toList();
    out.put("phase", doc.path("phase").asText());
    out.put("reason", doc.path("reason").asText(null));
    if (doc.hasNonNull("switchSkewMs")) {
      out.put("coordinatorSwitchSkewMs", doc.get("switchSkewMs").asLong());
    }
    out.put("documentBytes", docAnswer.body().length());
    out.put("events", events.size());
    out.put("eventBytes", events.stream().mapToInt(e -> e.toString().length()).sum());
    put(out, "benchRequestToEndMs", benchMs);

    ReleaseTimeline timeline = new ReleaseTimeline(Instant.parse(doc.path("createdAt").asText()), events);
    put(out, "requestToCompletedMs", timeline.sinceRequestMs(Phase.COMPLETED));
    ObjectNode phases = out.putObject("phaseMs");
    Map<Phase, Double> spent = new LinkedHashMap<>(timeline.phaseMs());
    spent.forEach((phase, ms) -> put(phases, phase.name(), ms));

    out.set("learnedPreparing", spread(probe.learned(Phase.PREPARING), timeline.entered(Phase.PREPARING)));
    out.set("learnedSwitching", spread(probe.learned(Phase.SWITCHING), timeline.entered(Phase.SWITCHING)));
    // When each switched: at the switch time the coordinator announced (switchAt), or when it learned, if later.
    out.set("switched", spread(probe.switchedMicros(), timeline.entered(Phase.SWITCHING)));
    out.put("agentsSwitched", probe.switchedCount());
    return out;
  }

  /**
   * When the agents learned a phase, or switched: the spread relative to the first (the skew an operator sees), and how
   * long after the coordinator wrote that phase the first and the last did.
   */
  private static ObjectNode spread(long[] micros, Instant written) {
    double[] ms = Arrays.stream(micros).mapToDouble(t -> t / 1000.0).toArray();
    ObjectNode out = summary(Summary.of(Summary.relativeToFirst(ms)));
    if (written != null && ms.length > 0) {
      double writtenMs = written.getEpochSecond() * 1000.0 + written.getNano() / 1e6;
      put(out, "firstAfterWrittenMs", Arrays.stream(ms).min().orElseThrow() - writtenMs);
      put(out, "lastAfterWrittenMs", Arrays.stream(ms).max().orElseThrow() - writtenMs);
    }
    return out;
  }

  private static ObjectNode usage(ProcessMeter meter) {
    ObjectNode out = Json.mapper().createObjectNode();
    for (String p : List.of(IDLE, COLD, STEADY, LIST, SINGLE, RELEASE, AFTER)) {
      ProcessMeter.Usage u = meter.usage(p);
      ObjectNode node = out.putObject(p);
      put(node, "cpuPercent", u.cpuMeanPercent());
      put(node, "cpuPeakPercent", u.cpuPeakPercent());
      put(node, "rssMaxMb", u.rssMaxMb());
    }
    ProcessMeter.Usage all = meter.usage(null);
    ObjectNode peak = out.putObject("peak");
    put(peak, "cpuPeakPercent", all.cpuPeakPercent());
    put(peak, "rssMaxMb", all.rssMaxMb());
    return out;
  }
}
