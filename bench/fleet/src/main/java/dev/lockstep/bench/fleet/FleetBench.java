package dev.lockstep.bench.fleet;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationsDigest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fleet benchmark: for each fleet size, a fresh database, real coordinator processes, and that many simulated
 * agents in this JVM; the whole fleet starts at once (cold start), reports in steady state while a dashboard's load
 * reads the status API, then one release of one migration runs to COMPLETED. Then real agent processes: start-up time
 * and RSS, and twelve with a switch hook. Prints a table and writes JSON ({@code docs/benchmarks.md} says what each
 * figure means).
 */
public final class FleetBench {
  private static final Logger LOG = LoggerFactory.getLogger(FleetBench.class);
  static final Duration REPORT_INTERVAL = Duration.ofSeconds(2);
  static final Duration POLL_WAIT = Duration.ofSeconds(30);

  private final BenchOptions options;
  private final Stores stores;
  private final String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
  private final String operatorToken = "bench-operator-" + UUID.randomUUID();
  private final String agentSecret = "bench-agent-secret-" + UUID.randomUUID();
  private final Path work;
  private final Path coordinatorJar;
  private final Path agentJar;

  FleetBench(BenchOptions options) throws Exception {
    this.options = options;
    this.stores = new Stores(options);
    this.work = Files.createDirectories(options.root().resolve("bench/fleet/target/work/" + stamp));
    this.coordinatorJar = options.root().resolve("coordinator/target/lockstep-coordinator.jar");
    this.agentJar = options.root().resolve("agent/target/lockstep-agent.jar");
  }

  public static void main(String[] args) throws Exception {
    BenchOptions options;
    try {
      options = BenchOptions.parse(args);
    } catch (IllegalArgumentException e) {
      if (!e.getMessage().isEmpty()) {
        System.err.println("bench: " + e.getMessage());
      }
      System.err.print(BenchOptions.USAGE);
      System.exit(e.getMessage().isEmpty() ? 0 : 2);
      return;
    }
    ObjectNode result;
    try {
      result = new FleetBench(options).run();
    } catch (Exception e) {
      // Vert.x's threads are not daemons: without an exit, a failed run would stay behind, its simulated fleet still
      // reporting, and load whatever runs next (it did, for 25 minutes).
      e.printStackTrace();
      System.exit(1);
      return;
    }
    System.exit(result.path("ok").asBoolean() ? 0 : 1);
  }

  ObjectNode run() throws Exception {
    ObjectNode result = Json.mapper().createObjectNode();
    result.put("startedAt", Instant.now().toString());
    result.put("command", System.getProperty("bench.command", "bench/run"));
    result.set("machine", Machine.describe());
    ObjectNode flags = result.putObject("flags");
    flags.putPOJO("coordinatorJvm", options.coordinatorJvm());
    flags.put("mallocArenaMax", ProcessEnvironment.mallocArenaMax());
    flags.putPOJO("agentJvm", java.util.stream.Stream.concat(RealAgentProcess.README_FLAGS.stream(),
        RealAgentProcess.EXTRA_FLAGS.stream()).toList());
    flags.put("coordinators", options.coordinators());
    flags.put("quick", options.quick());
    flags.put("reportIntervalMs", REPORT_INTERVAL.toMillis());
    flags.put("steadySeconds", options.steadySeconds());
    flags.put("statusSeconds", options.statusSeconds());
    flags.put("statusClients", options.statusClients());
    Path migrations = migrations();
    checkTokens();
    ArrayNode fleets = result.putArray("fleets");
    boolean ok = true;
    for (int size : options.sizes()) {
      ObjectNode fleet = new FleetRun(this, size, migrations).run();
      fleets.add(fleet);
      ok &= fleet.path("ok").asBoolean();
    }
    if (options.realAgents()) {
      ObjectNode real = new RealAgentRun(this, migrations).run();
      result.set("realAgents", real);
      ok &= real.path("ok").asBoolean();
    }
    result.put("ok", ok);
    result.put("finishedAt", Instant.now().toString());
    Files.createDirectories(options.results());
    Path file = options.results().resolve(stamp + ".json");
    Files.writeString(file, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(result));
    System.out.println(ResultTable.render(result));
    System.out.println("JSON: " + file);
    return result;
  }

  /** The one migration every release applies, in the coordinator's folder and every agent's staged build. */
  private Path migrations() throws Exception {
    Path dir = Files.createDirectories(work.resolve("migrations"));
    Files.writeString(dir.resolve("V1__create_bench_items.sql"),
        "CREATE TABLE bench_items (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());\n");
    return dir;
  }

  /** The bench computes agents' tokens itself; the first must be what {@code lockstep agent-token} prints. */
  private void checkTokens() throws Exception {
    String service = "bench-check";
    String mine = new AgentTokens(agentSecret).token(service, "agent-00001");
    String cli = Stores.run(List.of(java(), "-jar", coordinatorJar.toString(), "agent-token", "--service", service,
        "--id", "agent-00001", "--agent-secret", agentSecret)).strip();
    if (!cli.endsWith(mine)) {
      throw new IllegalStateException("the bench's agent token differs from `lockstep agent-token`'s: " + cli);
    }
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  BenchOptions options() {
    return options;
  }

  Stores stores() {
    return stores;
  }

  String stamp() {
    return stamp;
  }

  Path work() {
    return work;
  }

  Path agentJar() {
    return agentJar;
  }

  String operatorToken() {
    return operatorToken;
  }

  String agentSecret() {
    return agentSecret;
  }

  CoordinatorProcess.Settings coordinatorSettings(String database, String service, Path migrations,
                                                  List<String> extra) {
    return new CoordinatorProcess.Settings(coordinatorJar, options.coordinatorJvm(), stores.databaseUrl(database),
        options.redisUrl(), service, migrations, operatorToken, agentSecret, extra);
  }

  static Vertx vertx(int eventLoops) {
    return Vertx.vertx(new VertxOptions().setEventLoopPoolSize(eventLoops));
  }

  static String pick(List<String> ids) {
    return ids.get(ThreadLocalRandom.current().nextInt(ids.size()));
  }

  static void sleep(double seconds) throws InterruptedException {
    Thread.sleep((long) (seconds * 1000));
  }

  static ObjectNode summary(Summary s) {
    ObjectNode node = Json.mapper().createObjectNode();
    node.put("count", s.count());
    put(node, "min", s.min());
    put(node, "median", s.median());
    put(node, "p99", s.p99());
    put(node, "max", s.max());
    put(node, "mean", s.mean());
    return node;
  }

  static void put(ObjectNode node, String field, double value) {
    if (Double.isNaN(value)) {
      node.putNull(field);
    } else {
      node.put(field, Math.round(value * 1000) / 1000.0);
    }
  }

  static ObjectNode latencies(Latencies l, double seconds) {
    Summary s = l.summary();
    ObjectNode node = summary(s);
    node.put("timeouts", l.timeouts());
    node.put("errors", l.errors());
    if (seconds > 0) {
      put(node, "perSecond", s.count() / seconds);
    }
    return node;
  }

  /** Blocks for a Vert.x future from the bench's own thread. */
  static <T> T await(Future<T> future, long seconds) throws Exception {
    return OperatorApi.await(future, seconds);
  }

  static List<URI> uris(List<CoordinatorProcess> coordinators) {
    List<URI> uris = new ArrayList<>();
    coordinators.forEach(c -> uris.add(URI.create(c.url())));
    return uris;
  }

  static String digest(Path migrations) {
    return MigrationsDigest.of(migrations);
  }
}
