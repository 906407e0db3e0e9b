package dev.lockstep.bench.cost;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lockstep.protocol.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parts 1 and 2: the plain tool against a Lockstep release with one agent, on one chain, each repetition on a fresh
 * database; then where the release's time went.
 *
 * <p>Plain Flyway: a fresh JVM running {@link PlainFlyway} (JVM start reported apart). Plain Alembic:
 * {@code alembic -c alembic.ini upgrade heads}. Lockstep: a coordinator and one agent started together (timed: the
 * "including coordinator start" figure), then {@code lockstep release --revision v1 --json} from the CLI until it
 * exits (the "release command only" figure).
 */
final class ToolComparison {
  private final Setup setup;
  private final PrintStream out;

  ToolComparison(Setup setup, PrintStream out) {
    this.setup = setup;
    this.out = out;
  }

  Map<String, Object> run(Chain chain, int reps) {
    List<Map<String, Long>> runs = new ArrayList<>();
    List<String> lastEvents = List.of();
    List<String> lastAlembicCalls = List.of();
    for (int rep = 1; rep <= reps; rep++) {
      Map<String, Long> m = new LinkedHashMap<>();
      plain(chain, m);
      Result r = lockstep(chain, m, rep);
      lastEvents = r.events;
      lastAlembicCalls = r.alembicCalls;
      runs.add(m);
      out.printf("  %s rep %d/%d: plain %s, lockstep release %s (with coordinator start %s)%n", chain.name(), rep, reps,
          Stats.s(m.get("plainTotalMs")), Stats.s(m.get("releaseMs")), Stats.s(m.get("includingStartMs")));
    }
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("chain", chain.name());
    result.put("tool", chain.tool().name().toLowerCase());
    result.put("migrations", chain.migrations());
    result.put("source", chain.source());
    result.put("repetitions", reps);
    result.put("stats", Stats.all(runs));
    result.put("runs", runs);
    result.put("lastReleaseEvents", lastEvents);
    result.put("lastAlembicCalls", lastAlembicCalls);
    return result;
  }

  private void plain(Chain chain, Map<String, Long> m) {
    try (Scratch db = Scratch.create("plain")) {
      if (chain.tool() == Chain.Tool.FLYWAY) {
        Spawn.Done d = Spawn.of(List.of("java", "-cp", setup.benchClasspath(), PlainFlyway.class.getName(), db.jdbcUrl(),
            chain.folder().toString())).log(setup.work().resolve("plain-flyway.log")).run(30 * 60_000L);
        if (d.exit() != 0) {
          throw new IllegalStateException("plain Flyway failed on " + chain.name() + ":\n" + Spawn.tail(d.output()));
        }
        String[] migrated = d.output().lines().filter(l -> l.startsWith("migrated ")).findFirst().orElseThrow().split(" ");
        if (Integer.parseInt(migrated[2]) != chain.migrations()) {
          throw new IllegalStateException("plain Flyway applied " + migrated[2] + " of " + chain.migrations());
        }
        m.put("plainTotalMs", d.wallMs());
        m.put("plainJvmStartMs", d.mark("main") - d.spawnedAt());
        m.put("plainMigrateMs", Long.parseLong(migrated[3]));
      } else {
        // What one alembic process costs before it migrates anything: Python, SQLAlchemy, reading every revision.
        Spawn.Done heads = alembic(chain, db, "heads");
        m.put("alembicHeadsMs", heads.wallMs());
        Spawn.Done d = alembic(chain, db, "upgrade", "heads");
        m.put("plainTotalMs", d.wallMs());
        if (db.queryLong("SELECT count(*) FROM alembic_version") < 1) {
          throw new IllegalStateException("plain alembic left no version row on " + chain.name());
        }
      }
    }
  }

  private Spawn.Done alembic(Chain chain, Scratch db, String... args) {
    List<String> cmd = new ArrayList<>(List.of(setup.alembic().split(" ")));
    cmd.addAll(List.of("-c", chain.ini().toString()));
    cmd.addAll(List.of(args));
    Spawn.Done d = Spawn.of(cmd).in(chain.folder()).env("DATABASE_URL", db.url())
        .log(setup.work().resolve("plain-alembic.log")).run(30 * 60_000L);
    if (d.exit() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + Spawn.tail(d.output()));
    }
    return d;
  }

  record Result(List<String> events, List<String> alembicCalls) {}

  private Result lockstep(Chain chain, Map<String, Long> m, int rep) {
    // The CLI's own cost before it talks to anyone: a JVM with the README's flags (and the CLI's archive), picocli, --help.
    setup.prepareCli();
    Spawn.Done help = setup.cli("release", "--help").log(setup.work().resolve("cli-help.log")).run(60_000);
    m.put("cliJvmHelpMs", help.wallMs());
    try (Scratch db = Scratch.create("lockstep"); LockstepFleet fleet = new LockstepFleet(setup, chain, db,
        setup.work().resolve("runs").resolve(chain.name() + "-" + rep))) {
      fleet.start(1, i -> "");
      m.put("coordinatorStartMs", fleet.coordinatorReadyAt - fleet.coordinatorSpawnedAt);
      m.put("agentRegisteredMs", fleet.agentsRegisteredAt - fleet.agentsSpawnedAt);
      Spawn.Done release = fleet.release("v1");
      JsonNode doc = document(release, chain);
      m.put("releaseMs", release.wallMs());
      m.put("includingStartMs", release.exitedAt() - fleet.coordinatorSpawnedAt);
      List<String> eventData = fleet.events(doc.path("id").asText());
      ReleaseTimeline t = new ReleaseTimeline(eventData);
      m.put("cliToRequestMs", t.requestedAt() - release.spawnedAt());
      t.phaseMs().forEach((phase, ms) -> m.put("phase" + phase + "Ms", ms));
      long executed = 0;
      for (JsonNode a : doc.path("applied")) {
        executed += a.path("executionMs").asLong();
      }
      m.put("migrationsExecutionMs", executed);
      m.put("migratingOverheadMs", m.getOrDefault("phaseMIGRATINGMs", 0L) - executed);
      m.put("postMs", m.get("cliToRequestMs") - m.get("cliJvmHelpMs"));
      m.put("completedToCliExitMs", release.exitedAt() - t.endedAt());
      m.put("overheadMs", release.wallMs() - m.get("plainTotalMs"));
      m.put("hookRuns", (long) fleet.hooks().size());
      if (chain.tool() == Chain.Tool.ALEMBIC) {
        Map<String, Long> perPhase = new LinkedHashMap<>();
        long total = 0;
        for (String call : fleet.alembicCalls()) {
          String[] f = call.split(" ");
          long start = Long.parseLong(f[0]);
          long wall = Long.parseLong(f[1]) - start;
          total += wall;
          // Before the CLI started: the coordinator's own start-up; before the request was recorded: POST /v1/releases.
          String phase = start < release.spawnedAt() ? "CoordinatorStart" : start < t.requestedAt() ? "REQUEST" : t.phaseAt(start);
          perPhase.merge("alembicRuns" + phase, 1L, Long::sum);
          perPhase.merge("alembicRuns" + phase + "Ms", wall, Long::sum);
          if (start >= release.spawnedAt()) {
            perPhase.merge("alembicCommand_" + f[5], 1L, Long::sum); // f[3], f[4]: -c INI; f[5]: the subcommand
            perPhase.merge("alembicCommand_" + f[5] + "Ms", wall, Long::sum);
          }
        }
        for (String call : fleet.toolCalls()) {
          String[] f = call.split(" ");
          long start = Long.parseLong(f[0]);
          if (start >= release.spawnedAt()) {
            String phase = start < t.requestedAt() ? "REQUEST" : t.phaseAt(start);
            String kind = f[3].equals("python3") ? "pythonRuns" : "pgToolRuns";
            perPhase.merge(kind + phase, 1L, Long::sum);
            perPhase.merge(kind + phase + "Ms", Long.parseLong(f[1]) - start, Long::sum);
            perPhase.merge(kind, 1L, Long::sum);
            perPhase.merge(kind + "Ms", Long.parseLong(f[1]) - start, Long::sum);
          }
        }
        m.put("alembicRuns", (long) fleet.alembicCalls().size());
        m.put("alembicRunsMs", total);
        m.putAll(perPhase);
      }
      return new Result(t.lines(), fleet.alembicCalls());
    }
  }

  private static JsonNode document(Spawn.Done release, Chain chain) {
    try {
      if (release.exit() != 0) {
        throw new IllegalStateException("lockstep release of " + chain.name() + " exited " + release.exit() + ":\n"
            + Spawn.tail(release.output()));
      }
      JsonNode doc = Json.mapper().readTree(release.output());
      if (!"COMPLETED".equals(doc.path("phase").asText())) {
        throw new IllegalStateException("release of " + chain.name() + " ended " + doc.path("phase").asText() + ": "
            + doc.path("reason").asText());
      }
      return doc;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
