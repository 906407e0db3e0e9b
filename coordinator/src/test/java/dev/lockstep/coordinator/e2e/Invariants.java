package dev.lockstep.coordinator.e2e;

import dev.lockstep.coordinator.store.FenceKeys;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What must hold after every run of every cell, whatever the fault. Each invariant is checked on its own
 * and reports every violation it finds (not only the first), in words that say what was seen:
 *
 * <ol>
 *   <li><b>applied once</b>: each migration version at most once in {@code flyway_schema_history};</li>
 *   <li><b>all or none</b>: a version in the history has all of its effects, one not in it none;</li>
 *   <li><b>terminal stays terminal</b>: the release ends in a terminal phase, never leaves it, and is the
 *       same (phase, update time, events) once it has been quiet for {@link CellRun#SETTLE} with every
 *       coordinator up;</li>
 *   <li><b>nothing after the terminal event</b>: no event follows the first terminal one;</li>
 *   <li><b>last written under the current epoch</b>: the document's epoch is the fence's, so no coordinator that
 *       lost the fence wrote after the one holding it — or the fence moved only after the release was terminal (seen
 *       terminal with the fence still at the document's epoch, in one read; or, when both commits fell between two
 *       reads, the terminal event stamped before the fence's {@code acquired_at}, the moment its write lock was
 *       granted): a run that won the lock just then took the fence, found the release ended and wrote nothing (<i>nothing after the terminal event</i> and <i>terminal
 *       stays terminal</i> hold it to that);</li>
 *   <li><b>hooks at most once</b>: each agent ran each hook at most once for the release, per life of its
 *       process (a restarted agent catching up prepares again, by design);</li>
 *   <li><b>revision matches schema</b>: every live agent ends on the new revision if and only if the schema
 *       reached the target, and otherwise serves the old one (or holds, see 7);</li>
 *   <li><b>maintenance never serves old code on a moved schema</b>: in a maintenance release whose schema
 *       moved, no agent ran its abort hook or serves the old revision: it switched, or holds;</li>
 *   <li><b>nothing left locked</b>: no advisory lock of the service's keys (or of any Lockstep session) in
 *       {@code pg_locks}, no Redis key {@code lockstep:lock:<service>} once its lease has run out (an unlock lost to a
 *       Redis failover leaves the key to expire), no Lockstep session idle in a transaction.</li>
 * </ol>
 *
 * <pre>{@code List<Invariants.Result> results = Invariants.check(run);
 * results.stream().filter(r -> !r.ok()).forEach(r -> System.out.println(r.name() + ": " + r.violations()));}</pre>
 */
final class Invariants {
  /** How long agents may take to converge after the release ended. */
  private static final long CONVERGE_MS = 10_000;

  private Invariants() {}

  /** One invariant's verdict. */
  record Result(String name, List<String> violations) {
    boolean ok() {
      return violations.isEmpty();
    }
  }

  /** The schema as the history shows it: rows per version, the versions applied, the version it is at. */
  record History(Map<String, Long> rows, Set<String> applied, String current) {}

  static List<Result> check(CellRun run) {
    ReleaseDocument doc = run.doc();
    History history = history(run);
    List<Result> results = new ArrayList<>();
    results.add(new Result("applied once", appliedOnce(history)));
    results.add(new Result("all or none", allOrNone(run, history)));
    results.add(new Result("terminal stays terminal", terminalStays(run, doc)));
    results.add(new Result("nothing after the terminal event", nothingAfterTerminal(run)));
    results.add(new Result("last written under the current epoch", writtenUnderCurrentEpoch(run, doc)));
    results.add(new Result("hooks at most once", hooksAtMostOnce(run)));
    results.add(new Result("revision matches schema", revisionMatchesSchema(run, doc, history)));
    results.add(new Result("maintenance never serves old code on a moved schema", maintenanceHolds(run, doc, history)));
    results.add(new Result("nothing left locked", nothingLocked(run)));
    return results;
  }

  static History history(CellRun run) {
    Map<String, Long> rows = new LinkedHashMap<>();
    java.util.TreeSet<String> applied = new java.util.TreeSet<>(Comparator.comparingLong(Long::parseLong));
    boolean exists = run.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'flyway_schema_history'") > 0;
    if (exists) {
      for (Map<String, String> row : run.rows("SELECT version, success FROM flyway_schema_history WHERE version IS NOT NULL"
          + " ORDER BY installed_rank")) {
        rows.merge(row.get("version"), 1L, Long::sum);
        if ("t".equals(row.get("success")) || "true".equals(row.get("success"))) {
          applied.add(row.get("version"));
        }
      }
    }
    return new History(rows, applied, applied.isEmpty() ? null : applied.last());
  }

  private static List<String> appliedOnce(History history) {
    return history.rows().entrySet().stream().filter(e -> e.getValue() > 1)
        .map(e -> "V" + e.getKey() + " has " + e.getValue() + " rows in flyway_schema_history").toList();
  }

  private static List<String> allOrNone(CellRun run, History history) {
    List<String> violations = new ArrayList<>();
    run.cell.shape().migrations().effects().forEach((version, probes) -> {
      boolean applied = history.applied().contains(version);
      List<String> present = new ArrayList<>();
      List<String> absent = new ArrayList<>();
      for (String probe : probes) {
        (run.count(probe) > 0 ? present : absent).add(describeProbe(probe));
      }
      if (applied && !absent.isEmpty()) {
        violations.add("V" + version + " is in the history but " + String.join(", ", absent) + " is absent");
      } else if (!applied && !present.isEmpty()) {
        violations.add("V" + version + " is not in the history but " + String.join(", ", present) + " is present");
      }
    });
    return violations;
  }

  private static String describeProbe(String probe) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(tablename|indexname|column_name|conname) = '([^']+)'").matcher(probe);
    String last = null;
    String kind = null;
    while (m.find()) {
      kind = m.group(1);
      last = m.group(2);
    }
    return (kind == null ? "effect" : switch (kind) {
      case "tablename" -> "table";
      case "indexname" -> "index";
      case "column_name" -> "column";
      default -> "constraint";
    }) + " " + last;
  }

  private static List<String> terminalStays(CellRun run, ReleaseDocument doc) {
    List<String> violations = new ArrayList<>();
    if (doc == null) {
      return List.of("no release was created");
    }
    if (!doc.phase().isTerminal()) {
      violations.add("the release never ended: it is at " + doc.phase() + " (" + CellRun.abbreviate(doc.reason(), 200) + ")");
      return violations;
    }
    boolean seenTerminal = false;
    for (CellRun.Mark m : run.phases()) {
      Phase p = m.what().equals("null") ? null : Phase.valueOf(m.what());
      if (p != null && p.isTerminal()) {
        seenTerminal = true;
      } else if (seenTerminal && p != null) {
        violations.add("the release left its terminal phase for " + p + " at " + run.relative(m.at()));
      }
    }
    CellRun.Snapshot first = run.terminalSnapshot();
    CellRun.Snapshot now = run.snapshot();
    if (first != null && !first.equals(now)) {
      violations.add("the release changed after it first ended: " + first.phase() + " with " + first.events() + " events (updated "
          + first.updatedAt() + "), when quiet again " + now.phase() + " with " + now.events()
          + " events (updated " + now.updatedAt() + ")");
    }
    return violations;
  }

  private static List<String> nothingAfterTerminal(CellRun run) {
    List<CellRun.Event> events = run.events();
    int first = -1;
    for (int i = 0; i < events.size(); i++) {
      if (events.get(i).phase().isTerminal()) {
        first = i;
        break;
      }
    }
    if (first < 0 || first == events.size() - 1) {
      return List.of();
    }
    CellRun.Event terminal = events.get(first);
    List<CellRun.Event> after = events.subList(first + 1, events.size());
    return List.of(after.size() + " event(s) after the terminal event #" + terminal.seq() + " (" + terminal.phase() + " at "
        + run.relative(terminal.at()) + "): " + after.stream().limit(6)
        .map(e -> "#" + e.seq() + " " + run.relative(e.at()) + " " + CellRun.abbreviate(e.message(), 90))
        .collect(Collectors.joining("; ")) + (after.size() > 6 ? "; …" : ""));
  }

  /** The last write of the release was fenced by the epoch the fence holds now: no stale coordinator wrote after. */
  private static List<String> writtenUnderCurrentEpoch(CellRun run, ReleaseDocument doc) {
    if (doc == null) {
      return List.of();
    }
    long fence = run.count("SELECT epoch FROM lockstep.fence WHERE service = ?", run.fleet.service);
    if (doc.epoch() == fence) {
      return List.of();
    }
    Long atTerminal = run.fenceEpochWhenTerminal();
    if (atTerminal != null && atTerminal == doc.epoch() && doc.phase().isTerminal()) {
      run.note("the fence moved from epoch " + doc.epoch() + " to " + fence + " only after the release was terminal: a run"
          + " took it, found the release ended and wrote nothing");
      return List.of();
    }
    // Both commits may fall between two of the sampler's reads. The fence's acquired_at is when its write lock was
    // granted, after every write of the old epoch holding that lock committed (Fence.bumpEpoch): a terminal event stamped
    // (inside its transaction) before it was written first.
    Long moved = run.acquisitions().stream().filter(a -> a.epoch() > doc.epoch()).map(CellRun.Acquisition::at).min(Long::compare)
        .orElse(null);
    Long terminalEvent = run.events().stream().filter(e -> e.phase() != null && e.phase().isTerminal())
        .map(CellRun.Event::at).max(Long::compare).orElse(null);
    if (doc.phase().isTerminal() && moved != null && terminalEvent != null && terminalEvent < moved) {
      run.note("the fence moved from epoch " + doc.epoch() + " to " + fence + " " + (moved - terminalEvent) + " ms after"
          + " the terminal event was written (the two commits fell between two reads): a run took it, found the release"
          + " ended and wrote nothing");
      return List.of();
    }
    return List.of("the release document carries epoch " + doc.epoch() + " but the fence is at epoch " + fence
        + (atTerminal == null ? "" : " (at epoch " + atTerminal + " when the release was first seen terminal)"));
  }

  /** A hook line of this release: when, which agent, which hook. */
  record HookRun(long at, String agent, String hook) {}

  static List<HookRun> hookRuns(CellRun run) {
    List<HookRun> runs = new ArrayList<>();
    for (String line : run.fleet.hookLines()) {
      String[] f = line.trim().split(" ");
      if (f.length >= 4 && f[3].equals(run.releaseId())) {
        runs.add(new HookRun(Long.parseLong(f[0]), f[1], f[2]));
      }
    }
    return runs;
  }

  private static List<String> hooksAtMostOnce(CellRun run) {
    Map<String, List<HookRun>> byLife = new LinkedHashMap<>();
    for (HookRun h : hookRuns(run)) {
      List<Long> starts = run.fleet.agentStarts(h.agent());
      int life = 0;
      for (int i = 0; i < starts.size(); i++) {
        if (starts.get(i) <= h.at()) {
          life = i + 1;
        }
      }
      byLife.computeIfAbsent(h.agent() + " (life " + life + ") " + h.hook(), k -> new ArrayList<>()).add(h);
    }
    return byLife.entrySet().stream().filter(e -> e.getValue().size() > 1)
        .map(e -> e.getKey() + " ran " + e.getValue().size() + " times: at "
            + e.getValue().stream().map(h -> run.relative(h.at())).collect(Collectors.joining(", ")))
        .toList();
  }

  /** What an agent's end state must be, given where the schema is. */
  private enum Expected { NEW, OLD, HOLD_OR_OLD_SERVING }

  private static List<String> revisionMatchesSchema(CellRun run, ReleaseDocument doc, History history) {
    String target = run.cell.shape().migrations().target();
    boolean atTarget = target.equals(history.current());
    boolean moved = history.current() != null; // every cell starts from an empty schema
    boolean maintenance = doc != null && doc.mode() == Mode.MAINTENANCE;
    Expected expected = atTarget ? Expected.NEW : !moved ? Expected.OLD : Expected.HOLD_OR_OLD_SERVING;
    List<String> live = run.fleet.agentIds().stream().filter(id -> run.fleet.agent(id).isAlive()).toList();
    long deadline = System.currentTimeMillis() + CONVERGE_MS;
    List<String> violations;
    do {
      violations = new ArrayList<>();
      Map<String, AgentStatus> reports = reports(run);
      for (String id : live) {
        AgentStatus a = reports.get(id);
        String deployed = run.fleet.deployedRevision(id);
        String why = judge(expected, maintenance, a, deployed);
        if (why != null) {
          violations.add(id + ": " + why + " — the schema is at " + (history.current() == null ? "(empty)" : "V" + history.current())
              + ", target V" + target + (doc == null ? "" : ", release " + doc.phase() + ", mode " + doc.mode().wireName()));
        }
      }
      if (violations.isEmpty()) {
        return violations;
      }
      CellRun.pause(250);
    } while (System.currentTimeMillis() < deadline);
    return violations;
  }

  private static String judge(Expected expected, boolean maintenance, AgentStatus a, String deployed) {
    if (a == null) {
      return "not in the registry (deployed " + deployed + ")";
    }
    String seen = "state " + a.state().wireName() + ", revision " + a.revision() + " (deployed " + deployed + ")";
    switch (expected) {
      case NEW:
        return Cell.NEW_REVISION.equals(a.revision()) && Cell.NEW_REVISION.equals(deployed)
            && EnumSet.of(AgentState.SWITCHED, AgentState.SERVING).contains(a.state())
            ? null : seen + ", expected switched/serving on " + Cell.NEW_REVISION;
      case OLD:
        return Cell.OLD_REVISION.equals(a.revision()) && Cell.OLD_REVISION.equals(deployed)
            && EnumSet.of(AgentState.SERVING, AgentState.ABORTED).contains(a.state())
            ? null : seen + ", expected serving (or aborted) on " + Cell.OLD_REVISION
                + (a.state() == AgentState.PREPARED && maintenance ? ": left drained, not serving" : "");
      default:
        if (maintenance) {
          return a.state() == AgentState.HOLDING && Cell.OLD_REVISION.equals(deployed)
              ? null : seen + ", expected holding (not serving old code on a moved schema)";
        }
        return Cell.OLD_REVISION.equals(deployed) && EnumSet.of(AgentState.SERVING, AgentState.ABORTED).contains(a.state())
            ? null : seen + ", expected serving (or aborted) on " + Cell.OLD_REVISION + " (an online release only adds)";
    }
  }

  private static Map<String, AgentStatus> reports(CellRun run) {
    for (Fleet.Coordinator c : run.liveCoordinators()) {
      try {
        return run.fleet.agentList(c.api()).stream().collect(Collectors.toMap(AgentStatus::id, a -> a, (x, y) -> x));
      } catch (RuntimeException tryNext) {
        // paused or still starting; ask another
      }
    }
    return Map.of();
  }

  private static List<String> maintenanceHolds(CellRun run, ReleaseDocument doc, History history) {
    if (doc == null || doc.mode() != Mode.MAINTENANCE || history.current() == null) {
      return List.of();
    }
    return hookRuns(run).stream().filter(h -> h.hook().equals("abort"))
        .map(h -> h.agent() + " ran its abort hook (back to old code) at " + run.relative(h.at()) + " although the schema had moved to V"
            + history.current())
        .toList();
  }

  /** The longest lease a Lockstep lock key may carry: longer than the watchdog's, shorter than a hold for ever. */
  private static final long LEASE_MS = 60_000;

  private static boolean exists(CellRun run, String key) {
    return RedisServer.call(run.fleet.redisKeysUrl(), "EXISTS", key) instanceof Long n && n > 0;
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static List<String> nothingLocked(CellRun run) {
    List<String> violations = new ArrayList<>();
    FenceKeys keys = FenceKeys.of(run.fleet.service);
    for (Map<String, String> lock : run.rows("SELECT l.pid, a.application_name, l.classid, l.objid, l.mode FROM pg_locks l"
            + " JOIN pg_database d ON d.oid = l.database LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
            + " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
            + " AND ((l.classid::bigint = ? AND l.objid::bigint = ?) OR (l.classid::bigint = ? AND l.objid::bigint = ?)"
            + " OR (a.application_name LIKE 'lockstep%' AND a.application_name <> 'lockstep-testkit'))",
        keys.run() >>> 32, keys.run() & 0xFFFF_FFFFL, keys.write() >>> 32, keys.write() & 0xFFFF_FFFFL)) {
      String which = Objects.equals(lock.get("classid"), Long.toString(keys.run() >>> 32)) ? "run"
          : Objects.equals(lock.get("classid"), Long.toString(keys.write() >>> 32)) ? "write" : "other";
      violations.add("advisory lock (" + which + " key, " + lock.get("mode") + ") held by pid " + lock.get("pid") + " ("
          + lock.get("application_name") + ")");
    }
    try {
      String key = "lockstep:lock:" + run.fleet.service;
      if (exists(run, key)) {
        // An unlock lost to a Redis failover (Redisson: "not locked by current thread", logged as a WARN by ServiceLock)
        // leaves the key to expire with its lease, as a killed holder's does: nobody holds it, and the next release
        // waits at most that long. Held means still there once its expiry has passed: someone renews it.
        Object ttl = RedisServer.call(run.fleet.redisKeysUrl(), "PTTL", key);
        if (ttl instanceof Long ms && ms > 0 && ms <= LEASE_MS) {
          sleepQuietly(ms + 500);
        }
        if (exists(run, key)) {
          violations.add("Redis key " + key + " is held (expires in " + RedisServer.call(run.fleet.redisKeysUrl(), "PTTL", key)
              + " ms; it was " + ttl + " ms before waiting that out)");
        }
      }
    } catch (RuntimeException e) {
      violations.add("could not read Redis " + run.fleet.redisKeysUrl() + ": " + e.getMessage());
    }
    for (Map<String, String> s : run.rows("SELECT pid, application_name, state, now() - state_change AS for FROM pg_stat_activity"
        + " WHERE datname = current_database() AND application_name LIKE 'lockstep%' AND application_name <> 'lockstep-testkit'"
        + " AND state LIKE 'idle in transaction%'")) {
      violations.add("session " + s.get("pid") + " (" + s.get("application_name") + ") is " + s.get("state") + " for " + s.get("for"));
    }
    return violations;
  }
}
