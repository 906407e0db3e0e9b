package dev.lockstep.bench.cost;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Part 3, the status quo: ten application instances that each run the migration tool at start-up and then serve (what
 * Open WebUI does), against one Lockstep release to ten agents, on the same migration set with a destructive change
 * ({@link StatusQuoChain}), each on a fresh database at the old schema with the old code serving ({@link Traffic}).
 *
 * <p>An instance here is a bash process: it runs the real tool (plain Flyway in a JVM of its own, or
 * {@code alembic upgrade head}); when that exits 0 the instance serves the new code and its old one is taken out
 * (its slot's {@link Traffic} switches code); when it fails the instance "crashes" and a supervisor starts it again
 * after 1 s (Kubernetes would back off 10 s, 20 s, …), up to 5 attempts. The instances' own start-up besides the
 * tool is not modelled (0 s), nor in the Lockstep run, where the agents' prepare hook is a no-op and the switch hook
 * flips the slot.
 */
final class StatusQuo {
  static final int INSTANCES = 10;
  private final Setup setup;
  private final PrintStream out;

  StatusQuo(Setup setup, PrintStream out) {
    this.setup = setup;
    this.out = out;
  }

  Map<String, Object> run(Chain.Tool tool, int reps) {
    Chain chain = StatusQuoChain.write(tool, setup.corpora(), setup.work());
    List<Map<String, Long>> plain = new ArrayList<>();
    List<Map<String, Long>> lockstep = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    for (int rep = 1; rep <= reps; rep++) {
      plain.add(startUpMigrations(chain, rep, errors));
      lockstep.add(release(chain, rep, errors));
      out.printf("  %s rep %d/%d: status quo all new after %s, %d attempt(s), %d failed; Lockstep %s, %d failed old-code requests%n",
          tool.name().toLowerCase(), rep, reps, Stats.s(plain.get(rep - 1).get("allServingNewMs")),
          plain.get(rep - 1).get("migrationAttempts"), plain.get(rep - 1).get("failedAttempts"),
          Stats.s(lockstep.get(rep - 1).get("allServingNewMs")), lockstep.get(rep - 1).get("oldCodeFailedRequests"));
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("tool", tool.name().toLowerCase());
    r.put("instances", INSTANCES);
    r.put("chain", chain.source());
    r.put("repetitions", reps);
    r.put("statusQuo", Stats.all(plain));
    r.put("lockstep", Stats.all(lockstep));
    r.put("statusQuoRuns", plain);
    r.put("lockstepRuns", lockstep);
    r.put("sampleErrors", errors.stream().distinct().limit(12).toList());
    return r;
  }

  /** Ten instances started at once, each migrating at start-up. */
  private Map<String, Long> startUpMigrations(Chain chain, int rep, List<String> errors) {
    Path dir = Chain.fresh(setup.work().resolve("runs/statusquo-" + chain.tool().name().toLowerCase() + "-" + rep));
    Map<String, Long> m = new LinkedHashMap<>();
    try (Scratch db = Scratch.create("quo")) {
      base(chain, db);
      List<Path> states = states(dir);
      Path log = dir.resolve("instances.log");
      Files.writeString(log, "");
      Path script = instanceScript(dir);
      try (Traffic traffic = new Traffic(db, states); LockSampler locks = new LockSampler(db)) {
        LockstepFleet.sleep(500); // the old code serving before the deploy
        long t0 = System.currentTimeMillis();
        List<Spawn> instances = new ArrayList<>();
        for (int i = 1; i <= INSTANCES; i++) {
          instances.add(Spawn.of(List.of("bash", script.toString(), Integer.toString(i))).in(dir)
              .env("MIGRATE", migrateCommand(chain, db, i)).env("STATE", states.get(i - 1).toString()).env("LOG", log.toString())
              .log(dir.resolve("instance-" + i + ".out")).start());
        }
        for (Spawn s : instances) {
          s.await(10 * 60_000L);
        }
        awaitNew(traffic, 10_000);
        LockstepFleet.sleep(500); // the old code still running on the new schema shows here
        long last = traffic.firstNew.values().stream().mapToLong(Long::longValue).max().orElse(-1);
        m.put("allServingNewMs", last < 0 ? -1 : last - t0);
        m.put("instancesServingNew", (long) traffic.firstNew.size());
        List<String[]> attempts = Files.readAllLines(log).stream().filter(l -> l.contains(" migrate ")).map(l -> l.split(" ")).toList();
        m.put("migrationAttempts", (long) attempts.size());
        m.put("failedAttempts", attempts.stream().filter(a -> !a[5].equals("0")).count());
        m.put("instancesWithAFailedAttempt", attempts.stream().filter(a -> !a[5].equals("0")).map(a -> a[0]).distinct().count());
        m.put("instancesGaveUp", Files.readAllLines(log).stream().filter(l -> l.contains(" gave-up")).count());
        List<Long> walls = attempts.stream().map(a -> Long.parseLong(a[4]) - Long.parseLong(a[3])).toList();
        m.put("migrateWallMedianMs", Stats.of(walls).median());
        m.put("migrateWallMaxMs", Stats.of(walls).max());
        m.put("attemptsThatAppliedSomething", applied(chain, dir));
        if (chain.tool() == Chain.Tool.FLYWAY) {
          // Flyway's lock is a try-lock retried each second: it never waits in pg_locks. Time inside migrate() of the
          // instances that found nothing to do is their wait for the lock plus Flyway's own checks.
          List<Long> idle = flywayMigrateMs(dir, false);
          List<Long> busy = flywayMigrateMs(dir, true);
          m.put("flywayMigrateCallAppliedMs", Stats.of(busy).max());
          m.put("flywayMigrateCallNoopMedianMs", Stats.of(idle).median());
          m.put("flywayMigrateCallNoopMaxMs", Stats.of(idle).max());
        }
        m.put("lockWaitInstancesMs", locks.waitedMs("instance-"));
        m.put("lockWaitInstances", locks.waiters("instance-"));
        m.put("lockWaitTrafficMs", locks.waitedMs("traffic-"));
        traffic(m, traffic, errors);
        errors.addAll(failures(dir));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return m;
  }

  /** One Lockstep release to ten agents, each agent's switch hook flipping its slot to the new code. */
  private Map<String, Long> release(Chain chain, int rep, List<String> errors) {
    Path dir = setup.work().resolve("runs/statusquo-lockstep-" + chain.tool().name().toLowerCase() + "-" + rep);
    Map<String, Long> m = new LinkedHashMap<>();
    setup.prepareCli();
    try (Scratch db = Scratch.create("quo_ls")) {
      base(chain, db);
      try (LockstepFleet fleet = new LockstepFleet(setup, chain, db, dir)) {
        List<Path> states = states(fleet.dir);
        fleet.start(INSTANCES, i -> " && echo new > " + states.get(i - 1));
        try (Traffic traffic = new Traffic(db, states); LockSampler locks = new LockSampler(db)) {
          LockstepFleet.sleep(500);
          Spawn.Done release = fleet.release("v1");
          if (release.exit() != 0) {
            throw new IllegalStateException("the status quo's Lockstep release exited " + release.exit() + ":\n"
                + Spawn.tail(release.output()) + "\n" + Files.readString(fleet.dir.resolve("release-v1.err")));
          }
          awaitNew(traffic, 10_000);
          LockstepFleet.sleep(500);
          long last = traffic.firstNew.values().stream().mapToLong(Long::longValue).max().orElse(-1);
          m.put("allServingNewMs", last < 0 ? -1 : last - release.spawnedAt());
          m.put("releaseMs", release.wallMs());
          m.put("instancesServingNew", (long) traffic.firstNew.size());
          var doc = dev.lockstep.protocol.Json.mapper().readTree(release.output());
          m.put("migrationAttempts", 1L);
          m.put("failedAttempts", "COMPLETED".equals(doc.path("phase").asText()) ? 0L : 1L);
          m.put("agentsFailed", (long) fleet.hooks().stream().filter(h -> h[2].equals("abort")).count());
          if (doc.has("switchSkewMs") && !doc.path("switchSkewMs").isNull()) {
            m.put("switchSkewMs", doc.path("switchSkewMs").asLong());
          }
          if (doc.path("contract").has("afterLastSwitchMs")) {
            m.put("contractAfterLastSwitchMs", doc.path("contract").path("afterLastSwitchMs").asLong());
          }
          m.put("lockWaitTrafficMs", locks.waitedMs("traffic-"));
          m.put("lockWaitOtherMs", locks.waitedMs("") - locks.waitedMs("traffic-"));
          // Which phase of the release the application's requests waited in (a rehearsal on the live database locks too).
          ReleaseTimeline timeline = new ReleaseTimeline(fleet.events(doc.path("id").asText()));
          synchronized (locks.trafficWaitTimes) {
            for (long[] w : locks.trafficWaitTimes) {
              m.merge("lockWaitTraffic" + timeline.phaseAt(w[0]) + "Ms", (long) LockSampler.PERIOD_MS, Long::sum);
            }
          }
          traffic(m, traffic, errors);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return m;
  }

  private static void traffic(Map<String, Long> m, Traffic traffic, List<String> errors) {
    m.put("oldCodeRequests", traffic.count("oldOk") + traffic.count("oldFailed"));
    m.put("oldCodeFailedRequests", traffic.count("oldFailed"));
    m.put("instancesOldCodeOnNewSchema", (long) traffic.oldFailedAt.size());
    m.put("newCodeFailedRequests", traffic.count("newFailed"));
    errors.addAll(traffic.sampleErrors);
  }

  /** The old schema, applied with the plain tool before the run (the old code runs on it). */
  private void base(Chain chain, Scratch db) {
    if (chain.tool() == Chain.Tool.FLYWAY) {
      Spawn.check(List.of("java", "-cp", setup.benchClasspath(), PlainFlyway.class.getName(), db.jdbcUrl(),
          chain.folder().toString(), "1"), setup.work(), Map.of(), 120_000);
    } else {
      List<String> cmd = new ArrayList<>(List.of(setup.alembic().split(" ")));
      cmd.addAll(List.of("-c", chain.ini().toString(), "upgrade", "a1a1a1a1a1a1"));
      Spawn.check(cmd, chain.folder(), Map.of("DATABASE_URL", db.url()), 120_000);
    }
  }

  private String migrateCommand(Chain chain, Scratch db, int i) {
    if (chain.tool() == Chain.Tool.FLYWAY) {
      return "java -cp '" + setup.benchClasspath() + "' " + PlainFlyway.class.getName() + " '" + db.jdbcUrl()
          + "&ApplicationName=instance-" + i + "' " + chain.folder();
    }
    return "cd " + chain.folder() + " && PGAPPNAME=instance-" + i + " DATABASE_URL=" + db.url() + " " + setup.alembic()
        + " -c " + chain.ini() + " upgrade head";
  }

  private static Path instanceScript(Path dir) throws IOException {
    Path script = dir.resolve("instance.sh");
    Files.writeString(script, """
        #!/bin/bash
        # One application instance that migrates at start-up, then serves; a crash is restarted after 1 s, 5 tries.
        id=$1
        for attempt in 1 2 3 4 5; do
          s=$(date +%s%3N)
          bash -c "$MIGRATE" > "migrate-$id-$attempt.log" 2>&1
          rc=$?
          echo "$id migrate $attempt $s $(date +%s%3N) $rc" >> "$LOG"
          if [ $rc -eq 0 ]; then
            echo new > "$STATE"
            exit 0
          fi
          sleep 1
        done
        echo "$id gave-up" >> "$LOG"
        exit 1
        """);
    return script;
  }

  /** How many start-up migrations applied at least one migration (Flyway says; Alembic logs "Running upgrade"). */
  private static long applied(Chain chain, Path dir) throws IOException {
    long n = 0;
    try (var files = Files.list(dir)) {
      for (Path p : files.filter(f -> f.getFileName().toString().startsWith("migrate-")).toList()) {
        String log = Files.readString(p);
        boolean did = chain.tool() == Chain.Tool.FLYWAY
            ? log.lines().anyMatch(l -> l.startsWith("migrated ") && !l.split(" ")[2].equals("0"))
            : log.contains("Running upgrade") && !log.contains("Error") && !log.contains("Traceback");
        n += did ? 1 : 0;
      }
    }
    return n;
  }

  /** Flyway's migrate() call time of the attempts that applied something ({@code applied}) or nothing. */
  private static List<Long> flywayMigrateMs(Path dir, boolean applied) throws IOException {
    List<Long> out = new ArrayList<>();
    try (var files = Files.list(dir)) {
      for (Path p : files.filter(f -> f.getFileName().toString().startsWith("migrate-")).toList()) {
        Files.readAllLines(p).stream().filter(l -> l.startsWith("migrated ")).map(l -> l.split(" "))
            .filter(f -> applied != f[2].equals("0")).forEach(f -> out.add(Long.parseLong(f[3])));
      }
    }
    return out;
  }

  /** The last line of each failed start-up migration's output, for the report. */
  private static List<String> failures(Path dir) throws IOException {
    List<String> out = new ArrayList<>();
    try (var files = Files.list(dir)) {
      for (Path p : files.filter(f -> f.getFileName().toString().startsWith("migrate-")).sorted().toList()) {
        List<String> lines = Files.readAllLines(p);
        lines.stream().filter(l -> l.contains("Error") || l.contains("ERROR")).reduce((a, b) -> b)
            .ifPresent(l -> out.add(p.getFileName() + ": " + (l.length() > 200 ? l.substring(0, 200) : l)));
      }
    }
    return out;
  }

  private static List<Path> states(Path dir) throws IOException {
    List<Path> states = new ArrayList<>();
    for (int i = 1; i <= INSTANCES; i++) {
      Path p = dir.resolve("slot-" + i + ".state");
      Files.writeString(p, "old\n");
      states.add(p);
    }
    return states;
  }

  private static void awaitNew(Traffic traffic, long ms) {
    long deadline = System.currentTimeMillis() + ms;
    while (traffic.firstNew.size() < INSTANCES && System.currentTimeMillis() < deadline) {
      LockstepFleet.sleep(50);
    }
  }

  @SuppressWarnings("unchecked")
  static void print(PrintStream out, Map<String, Object> q) {
    Map<String, Stats> a = (Map<String, Stats>) q.get("statusQuo");
    Map<String, Stats> b = (Map<String, Stats>) q.get("lockstep");
    out.printf("%n## Status quo (%s): %d instances migrating at start-up vs one Lockstep release (median, min–max; %s reps)%n%n",
        q.get("tool"), INSTANCES, q.get("repetitions"));
    out.println("| | status quo | Lockstep |");
    out.println("|---|---|---|");
    row(out, "deploy start → every instance serves the new code", a, b, "allServingNewMs", true);
    row(out, "instances serving the new code at the end", a, b, "instancesServingNew", false);
    row(out, "migration attempts", a, b, "migrationAttempts", false);
    row(out, "  that applied something", a, b, "attemptsThatAppliedSomething", false);
    row(out, "failed migration attempts (crashed instances)", a, b, "failedAttempts", false);
    row(out, "instances with a failed attempt", a, b, "instancesWithAFailedAttempt", false);
    row(out, "instances that gave up (5 attempts)", a, b, "instancesGaveUp", false);
    row(out, "agents that aborted", a, b, "agentsFailed", false);
    row(out, "start-up migrate wall, median of attempts", a, b, "migrateWallMedianMs", true);
    row(out, "start-up migrate wall, slowest attempt", a, b, "migrateWallMaxMs", true);
    row(out, "Flyway migrate() call of the instance that applied the set", a, b, "flywayMigrateCallAppliedMs", true);
    row(out, "Flyway migrate() call of the others (lock wait + checks), median", a, b, "flywayMigrateCallNoopMedianMs", true);
    row(out, "Flyway migrate() call of the others, slowest", a, b, "flywayMigrateCallNoopMaxMs", true);
    row(out, "lock waits of migrating instances (pg_locks, 20 ms samples)", a, b, "lockWaitInstancesMs", true);
    row(out, "instances that waited on a lock", a, b, "lockWaitInstances", false);
    row(out, "lock waits of application requests", a, b, "lockWaitTrafficMs", true);
    for (String phase : ReleaseTimeline.PHASES) {
      row(out, "  of which while the release was in " + phase, a, b, "lockWaitTraffic" + phase + "Ms", true);
    }
    row(out, "lock waits of other sessions (Lockstep's)", a, b, "lockWaitOtherMs", true);
    row(out, "old-code requests during the deploy", a, b, "oldCodeRequests", false);
    row(out, "old-code requests that failed (old code on the new schema)", a, b, "oldCodeFailedRequests", false);
    row(out, "instances that served old code on the new schema (failed)", a, b, "instancesOldCodeOnNewSchema", false);
    row(out, "new-code requests that failed", a, b, "newCodeFailedRequests", false);
    row(out, "Lockstep: release command wall", a, b, "releaseMs", true);
    row(out, "Lockstep: switch skew", a, b, "switchSkewMs", true);
    row(out, "Lockstep: contract applied after the last switch", a, b, "contractAfterLastSwitchMs", true);
    List<String> errors = (List<String>) q.get("sampleErrors");
    if (!errors.isEmpty()) {
      out.println("\nSample errors:");
      errors.forEach(e -> out.println("  " + e));
    }
  }

  private static void row(PrintStream out, String label, Map<String, Stats> a, Map<String, Stats> b, String key, boolean ms) {
    Stats x = a.get(key);
    Stats y = b.get(key);
    if (x == null && y == null) {
      return;
    }
    out.printf("| %s | %s | %s |%n", label, x == null ? "-" : ms ? x.seconds() : x.count(), y == null ? "-" : ms ? y.seconds() : y.count());
  }
}
