package dev.lockstep.bench.fleet;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The bench's command line ({@code bench/run --help} prints it).
 *
 * @param sizes fleet sizes, one run each (fresh database, fresh coordinators)
 * @param coordinators coordinator instances sharing each fleet
 * @param quick a smoke run: short periods, one real-agent sample
 * @param root the repository (jars are found under it)
 * @param coordinatorJvm the coordinators' JVM flags
 * @param steadySeconds how long reports are measured in steady state
 * @param statusSeconds how long each status-API load runs
 * @param statusClients concurrent status-API callers
 * @param realAgents whether to run the real agent processes (start-up, RSS, twelve with a switch hook)
 * @param realAgentSamples start-up/RSS samples of one real agent
 * @param twelve how many real agents with a switch hook (12)
 */
public record BenchOptions(List<Integer> sizes, int coordinators, boolean quick, Path root, String pgHost, int pgPort,
                           String pgUser, String redisUrl, List<String> coordinatorJvm, int steadySeconds,
                           double statusSeconds, int statusClients, boolean realAgents, int realAgentSamples,
                           int twelve, int portBase, Path results) {

  /** The README's coordinator flags ("resident memory" table). */
  static final List<String> README_COORDINATOR_FLAGS = List.of("-Xmx128m", "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1");

  static final String USAGE = """
      bench/run [--agents 1000,5000] [--coordinators N] [--quick] [options]
        --agents LIST            fleet sizes, one run each (default 1000,5000; --quick: 100)
        --coordinators N         coordinator instances sharing each fleet; agent i talks to instance i mod N first (1)
        --quick                  smoke run: 3 s periods, one real-agent sample
        --coordinator-heap SIZE  the coordinators' -Xmx (default 128m, the README's)
        --coordinator-jvm FLAGS  the coordinators' JVM flags, space-separated (replaces the README's)
        --steady-seconds N       steady-state report measurement (10; --quick 3)
        --status-seconds N       each status-API load (10; --quick 3)
        --status-clients N       concurrent status-API callers (8)
        --no-real-agents         skip the real agent processes (start-up, RSS, twelve with a switch hook)
        --real-agents N          real agents with a switch hook (12)
        --pg-host H --pg-port P --pg-user U   PostgreSQL (127.0.0.1 5432 postgres; LOCKSTEP_TEST_PG_* too)
        --redis-url URL          Redis (redis://127.0.0.1:6379; LOCKSTEP_TEST_REDIS_URL too)
        --port-base P            first coordinator port (17070)
        --results DIR            where the JSON goes (bench/results)
      """;

  static BenchOptions parse(String[] args) {
    List<Integer> sizes = null;
    int coordinators = 1;
    boolean quick = false;
    Path root = Path.of(System.getProperty("lockstep.root", ".")).toAbsolutePath().normalize();
    String pgHost = env("LOCKSTEP_TEST_PG_HOST", "127.0.0.1");
    int pgPort = Integer.parseInt(env("LOCKSTEP_TEST_PG_PORT", "5432"));
    String pgUser = env("LOCKSTEP_TEST_PG_USER", "postgres");
    String redisUrl = env("LOCKSTEP_TEST_REDIS_URL", "redis://127.0.0.1:6379");
    String heap = null;
    List<String> jvm = null;
    Integer steady = null;
    Double status = null;
    int clients = 8;
    boolean realAgents = true;
    int twelve = 12;
    int portBase = 17070;
    Path results = null;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      switch (arg) {
        case "--agents" -> sizes = Arrays.stream(value(args, ++i, arg).split(",")).map(String::trim)
            .map(s -> Integer.parseInt(s.replace("_", ""))).toList();
        case "--coordinators" -> coordinators = Integer.parseInt(value(args, ++i, arg));
        case "--quick" -> quick = true;
        case "--coordinator-heap" -> heap = value(args, ++i, arg);
        case "--coordinator-jvm" -> jvm = List.of(value(args, ++i, arg).trim().split("\\s+"));
        case "--steady-seconds" -> steady = Integer.parseInt(value(args, ++i, arg));
        case "--status-seconds" -> status = Double.parseDouble(value(args, ++i, arg));
        case "--status-clients" -> clients = Integer.parseInt(value(args, ++i, arg));
        case "--no-real-agents" -> realAgents = false;
        case "--real-agents" -> twelve = Integer.parseInt(value(args, ++i, arg));
        case "--pg-host" -> pgHost = value(args, ++i, arg);
        case "--pg-port" -> pgPort = Integer.parseInt(value(args, ++i, arg));
        case "--pg-user" -> pgUser = value(args, ++i, arg);
        case "--redis-url" -> redisUrl = value(args, ++i, arg);
        case "--port-base" -> portBase = Integer.parseInt(value(args, ++i, arg));
        case "--results" -> results = Path.of(value(args, ++i, arg));
        case "--root" -> root = Path.of(value(args, ++i, arg)).toAbsolutePath().normalize();
        case "-h", "--help" -> throw new IllegalArgumentException("");
        default -> throw new IllegalArgumentException("unknown option " + arg);
      }
    }
    if (sizes == null) {
      sizes = quick ? List.of(100) : List.of(1000, 5000);
    }
    List<String> coordinatorJvm = new ArrayList<>(jvm == null ? README_COORDINATOR_FLAGS : jvm);
    if (heap != null) {
      coordinatorJvm.removeIf(f -> f.startsWith("-Xmx"));
      coordinatorJvm.add(0, "-Xmx" + heap);
    }
    return new BenchOptions(sizes, coordinators, quick, root, pgHost, pgPort, pgUser, redisUrl,
        List.copyOf(coordinatorJvm), steady != null ? steady : quick ? 3 : 10, status != null ? status : quick ? 3 : 10,
        clients, realAgents, quick ? 1 : 3, twelve, portBase,
        results != null ? results : root.resolve("bench/results"));
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return args[i];
  }

  private static String env(String name, String otherwise) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? otherwise : value;
  }
}
