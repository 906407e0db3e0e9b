package dev.lockstep.coordinator.e2e;

import static dev.lockstep.protocol.Phase.ABORTED;
import static dev.lockstep.protocol.Phase.COMPLETED;
import static dev.lockstep.protocol.Phase.CONTRACTING;
import static dev.lockstep.protocol.Phase.FAILED;
import static dev.lockstep.protocol.Phase.MIGRATING;
import static dev.lockstep.protocol.Phase.PREFLIGHT;
import static dev.lockstep.protocol.Phase.PREPARING;
import static dev.lockstep.protocol.Phase.SWITCHING;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.lockstep.coordinator.e2e.Cell.AgentShape;
import dev.lockstep.coordinator.e2e.Cell.Hazard;
import dev.lockstep.coordinator.e2e.Cell.Shape;
import dev.lockstep.protocol.ContractState;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * Issue 7's fault matrix: each fault at each moment of a release, with real processes — two or three
 * coordinator JVMs of one service (one database, one Redis), real agent JVMs, real PostgreSQL and Redis —
 * and the same {@link Invariants} judged after every run. Each cell × repetition is a test of its own.
 *
 * <pre>
 * mvn -B -o verify -pl coordinator -am -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dit.test=FaultMatrixIT -Dfailsafe.failIfNoSpecifiedTests=false \
 *     -Dlockstep.matrix.repetitions=20 -Dlockstep.matrix.cells=kill,-old
 * </pre>
 *
 * <p>{@code lockstep.matrix.repetitions} (default 1) runs every cell that many times;
 * {@code lockstep.matrix.cells} is a comma-separated list of case-insensitive substrings of cell names,
 * a leading {@code -} excluding instead. The results (runs, passes, recovery times, failures) go to
 * {@code target/fault-matrix.md} after every run; each run's evidence to
 * {@code target/e2e/FaultMatrixIT/<cell>-<n>/evidence.md}.
 *
 * <p>The cells are run by two test classes, {@link FaultMatrixIT} (faults of the coordinators: kill -9, SIGTERM,
 * SIGSTOP, late and restarting instances) and {@link FaultMatrixDependenciesIT} (faults of everything around them:
 * Redis, PostgreSQL, agents, operators and concurrent requests), so that failsafe's two test JVMs run them side by
 * side instead of one JVM running some 7 minutes of cells alone at the end of the suite. {@code -Dit.test='FaultMatrix*IT'}
 * runs both; each writes its own report.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class FaultMatrix {
  private static final int REPETITIONS = Integer.getInteger("lockstep.matrix.repetitions", 1);
  private static final String FILTER = System.getProperty("lockstep.matrix.cells", "all");
  private final MatrixReport report = new MatrixReport(Path.of("target", reportName()).toAbsolutePath(),
      REPETITIONS, FILTER);

  /** Every (cell, repetition) in the order the tests run, so the next fleet can start while a run settles. */
  private final List<Planned> plan = new ArrayList<>();
  private CompletableFuture<CellRun> next;
  private int nextIndex = -1;

  private record Planned(Cell cell, int repetition) {}

  /** Whether this class runs {@code cell}: each cell belongs to exactly one of the two. */
  abstract boolean runs(Cell cell);

  /** The report's file name under {@code target/}. */
  abstract String reportName();

  /** The coordinators' own faults: what {@link FaultMatrixIT} runs; {@link FaultMatrixDependenciesIT} runs the rest. */
  static boolean coordinatorFault(Cell cell) {
    String name = cell.name();
    return name.startsWith("kill -9 of the coordinator") || name.startsWith("SIGTERM of the coordinator")
        || name.startsWith("SIGSTOP") || name.startsWith("a standby starting") || name.startsWith("the old primary");
  }

  @TestFactory
  Stream<DynamicNode> faultMatrix() {
    List<Cell> selected = cells().stream().filter(this::runs).filter(c -> selected(c.name())).toList();
    report.plan(selected);
    // Repetition by repetition, so a long run cut short still has the same count for every cell.
    for (int rep = 1; rep <= REPETITIONS; rep++) {
      for (Cell cell : selected) {
        plan.add(new Planned(cell, rep));
      }
    }
    return IntStream.rangeClosed(1, REPETITIONS).mapToObj(rep -> dynamicContainer("repetition " + rep, selected.stream()
        .map(cell -> dynamicTest(cell.name() + " #" + rep, () -> run(plan.indexOf(new Planned(cell, rep)))))));
  }

  @AfterAll
  void writeSummary() {
    if (next != null) {
      next.thenAccept(CellRun::close);
    }
    report.write();
    System.out.println("fault matrix summary: " + Path.of("target", reportName()).toAbsolutePath());
  }

  // ---- the cells -----------------------------------------------------------------------------------------------

  static List<Cell> cells() {
    List<Cell> cells = new ArrayList<>();
    String kill = "kill -9 of the coordinator running the release";
    for (Phase p : List.of(PREFLIGHT, PREPARING, MIGRATING, SWITCHING)) {
      Cell cell = Cell.of(kill, p == MIGRATING ? "MIGRATING (slow migration)" : p.name());
      cells.add((p == PREFLIGHT ? cell.shape(Shape.standard().slowRehearsal()) : cell).script(run -> {
        run.release();
        strikeAt(run, p);
        run.kill9Runner();
        run.awaitTakeover();
      }));
    }

    for (Phase p : List.of(PREPARING, MIGRATING)) {
      cells.add(Cell.of("SIGTERM of the coordinator running the release", p.name()).script(run -> {
        run.release();
        strikeAt(run, p);
        run.sigtermRunner();
        run.awaitTakeover();
      }).check(FaultMatrix::handedOver));
    }

    // Issue 19: a takeover of CONTRACTING, struck in the contract migration's slow statement; it is applied once.
    Shape contract = Shape.standard().migrations(Cell.Migrations.CONTRACT);
    cells.add(Cell.of(kill, "CONTRACTING (slow contract migration)").shape(contract).check(FaultMatrix::contractAppliedOnce)
        .script(run -> {
          run.release();
          run.awaitPhase(CONTRACTING);
          run.awaitMigrationSleeping();
          run.kill9Runner();
          run.awaitTakeover();
        }));
    cells.add(Cell.of("SIGTERM of the coordinator running the release", "CONTRACTING").shape(contract)
        .check(run -> {
          List<String> violations = new ArrayList<>(handedOver(run));
          violations.addAll(contractAppliedOnce(run));
          return violations;
        })
        .script(run -> {
          run.release();
          run.awaitPhase(CONTRACTING);
          run.awaitMigrationSleeping();
          // The contract step finishes within --shutdown-grace; after it there is no safe point before COMPLETED, so
          // the stopping coordinator completes the release itself, then lets go of the lock.
          run.sigtermRunner();
          run.awaitTerminal();
        }));

    cells.add(Cell.of("SIGSTOP past its lease, SIGCONT after another took over", "MIGRATING").script(run -> {
      run.release();
      run.awaitMigrationSleeping();
      Fleet.Coordinator paused = run.runner();
      run.fault("SIGSTOP " + paused, () -> paused.signal("STOP"));
      run.awaitTakeover();
      paused.signal("CONT");
      run.mark("SIGCONT " + paused.name);
    }));

    // Hazard 1: an instance that starts while another finishes the release, one phase at a time.
    Shape oneAndLate = Shape.standard().coordinators(1, 1);
    for (Phase p : List.of(PREFLIGHT, PREPARING, MIGRATING, SWITCHING)) {
      Shape shape = p == SWITCHING
          ? oneAndLate.agents(new AgentShape("a-1", 0, 0), new AgentShape("a-2", 1.5, 4)) // the switch outlasts a JVM start
          : p == PREFLIGHT ? oneAndLate.slowRehearsal() : oneAndLate;
      cells.add(Cell.of("a standby starting while the release runs", p == SWITCHING ? "SWITCHING (4 s switch)" : p.name())
          .hazard(Hazard.TERMINAL_REWALK).shape(shape).script(run -> {
            run.release();
            strikeAt(run, p);
            Fleet.Coordinator late = run.fleet.coordinators().get(1);
            run.fault("start standby " + late.name, () -> run.startLate(late));
          }));
    }
    cells.add(Cell.of("a standby starting just after the release completes", "COMPLETED").hazard(Hazard.TERMINAL_REWALK)
        .shape(oneAndLate).script(run -> {
          run.release();
          run.awaitPhase(COMPLETED);
          Fleet.Coordinator late = run.fleet.coordinators().get(1);
          run.fault("start standby " + late.name, () -> run.startLate(late));
        }));
    for (Phase p : List.of(PREPARING, MIGRATING, SWITCHING)) {
      cells.add(Cell.of("the old primary restarting while the standby runs the release", "killed in " + p.name())
          .hazard(Hazard.TERMINAL_REWALK).script(run -> {
            run.release();
            strikeAt(run, p);
            Fleet.Coordinator old = run.kill9Runner();
            run.awaitTakeover();
            run.startLate(old);
          }));
    }
    cells.add(Cell.of("the old primary restarting just after the standby completes", "COMPLETED (killed in PREPARING)")
        .hazard(Hazard.TERMINAL_REWALK).script(run -> {
          run.release();
          run.awaitPhase(PREPARING);
          Fleet.Coordinator old = run.kill9Runner();
          run.awaitTakeover();
          run.awaitPhase(COMPLETED);
          run.startLate(old);
        }));

    // Hazard 2: the resumed run aborts before it told the fleet anything; maintenance agents had stopped serving.
    cells.add(Cell.of("operator abort sent to the instance that resumed the release", "PREPARING")
        .hazard(Hazard.SILENT_ABORT)
        .shape(Shape.standard().mode(Mode.MAINTENANCE).agents(new AgentShape("a-1", 0, 0), new AgentShape("a-2", 4, 0)))
        .expect(ABORTED)
        .script(run -> {
          run.release();
          run.awaitPhase(PREPARING);
          run.awaitHook("a-1", "prepare"); // a-1 has stopped serving; a-2 is still draining
          run.kill9Runner();
          Fleet.Coordinator resumer = run.awaitTakeover();
          HttpResponse<String> answer = run.abortVia(resumer);
          long takenAt = run.acquisitions().get(run.acquisitions().size() - 1).at();
          List<String> written = run.events().stream().filter(e -> e.at() >= takenAt)
              .map(e -> e.phase() + " (" + run.relative(e.at()) + ")").toList();
          run.note("abort answered " + answer.statusCode() + "; the resumed run had written " + (written.isEmpty() ? "nothing"
              : written) + " when it arrived");
        }));

    for (Phase p : List.of(PREPARING, MIGRATING)) {
      cells.add(Cell.of("Redis restart (empty)", p.name()).shape(Shape.standard().withOwnRedis()).script(run -> {
        run.release();
        strikeAt(run, p);
        run.fault("Redis " + run.redis.url() + " restarted empty (down 1 s)", () -> run.redis.restartEmpty(Duration.ofSeconds(1)));
      }));
    }

    // Issue 20: coordinators on a redis-sentinel:// URL; the Redis primary dies and the sentinels promote its replica
    // (down after 1 s, then elected: some 2-3 s without a primary). Writes not yet replicated are lost with it, the
    // lock's included; an agent whose reports failed past --lost-after is lost: the release may end cleanly instead.
    for (Phase p : List.of(PREPARING, MIGRATING, SWITCHING)) {
      cells.add(Cell.of("the Redis primary fails over (kill -9, Sentinel promotes the replica)", p.name())
          .shape(Shape.standard().onSentinel()).expect(COMPLETED, ABORTED, FAILED).script(run -> {
            run.release();
            strikeAt(run, p);
            int primary = run.sentinel.primaryPort();
            run.fault("kill -9 of the Redis primary on port " + primary, run.sentinel::killPrimary);
            run.mark("the sentinels promoted port " + run.sentinel.primaryPort());
          }));
    }
    // SENTINEL FAILOVER leaves the old primary writable for some 10-15 s (Redis 7.0 re-attaches it as a replica only
    // then): a coordinator still talking to it and one on the new primary may both hold "the" lock. The fence decides.
    cells.add(Cell.of("SENTINEL FAILOVER (the old primary writable until re-attached)", "MIGRATING")
        .shape(Shape.standard().onSentinel()).expect(COMPLETED, FAILED).script(run -> {
          run.release();
          strikeAt(run, MIGRATING);
          int primary = run.sentinel.primaryPort();
          run.fault("SENTINEL FAILOVER away from port " + primary, run.sentinel::failover);
          run.mark("the sentinels promoted port " + run.sentinel.primaryPort());
        }));

    cells.add(Cell.of("pg_terminate_backend of the coordinator's connections", "MIGRATING").expect(COMPLETED, FAILED)
        .script(run -> {
          run.release();
          run.awaitMigrationSleeping();
          Fleet.Coordinator runner = run.runner();
          List<Long> backends = run.backendsOf(runner);
          run.fault("pg_terminate_backend of " + runner.name + "'s " + backends.size() + " session(s) " + backends, () -> {
            for (long pid : backends) {
              // One backend by its pid: pg_terminate_backend in a WHERE clause may run for rows the filter would drop.
              run.queryString("SELECT pg_terminate_backend(?::int)::text", pid);
            }
          });
        }));

    cells.add(Cell.of("an agent killed", "PREPARING (the release aborts cleanly)").expect(ABORTED)
        .shape(Shape.standard().agents(new AgentShape("a-1", 0, 0), new AgentShape("a-2", 4, 0)))
        .script(run -> {
          run.release();
          run.awaitPhase(PREPARING);
          run.awaitHook("a-1", "prepare");
          run.fault("kill -9 agent a-2 in its prepare hook", () -> run.fleet.killAgent("a-2"));
          run.awaitTerminal();
          run.fleet.restartAgent("a-2");
          run.mark("restarted a-2");
        }));
    cells.add(Cell.of("an agent killed", "SWITCHING (it catches up when it returns)")
        .shape(Shape.standard().agents(new AgentShape("a-1", 0, 0), new AgentShape("a-2", 0, 3)))
        .script(run -> {
          run.release();
          run.awaitPhase(SWITCHING);
          // The agent's JVM alone, as the OOM killer would: its switch hook lives on, and the agent's next
          // life must stop it before catching up, or the switch runs twice at once.
          run.fault("kill -9 of agent a-2 alone in its switch hook", () -> run.fleet.killAgentAlone("a-2"));
          CellRun.pause(1_000);
          run.fleet.restartAgent("a-2");
          run.mark("restarted a-2");
        }));

    // Hazard 3: V2 and V3 committed, the runner dies in V4, the standby resumes and V4 fails.
    cells.add(Cell.of("a failure in a non-atomic release after a step committed, then a takeover", "MIGRATING")
        .hazard(Hazard.BLIND_RESUME)
        .shape(Shape.standard().migrations(Cell.Migrations.NON_ATOMIC).mode(Mode.MAINTENANCE))
        .expect(FAILED)
        .check(run -> {
          ReleaseDocument d = run.doc();
          String reason = d == null || d.reason() == null ? "" : d.reason();
          return reason.contains("version 3") ? List.of()
              : List.of("expectation: the reason must name version 3, where the database is: \"" + CellRun.abbreviate(reason, 300) + "\"");
        })
        .script(run -> {
          run.release();
          run.awaitApplied("3");
          run.awaitMigrationSleeping();
          run.kill9Runner();
          run.awaitTakeover();
        }));

    cells.add(Cell.of("two release requests at once, to two coordinators", "PLANNED")
        .check(run -> {
          long accepted = run.requests().values().stream().filter(v -> v.startsWith("202")).count();
          long refused = run.requests().values().stream().filter(v -> v.startsWith("409")).count();
          return accepted == 1 && refused == 1 ? List.of()
              : List.of("expectation: one request accepted (202) and one refused (409), got " + run.requests());
        })
        .script(run -> {
          Fleet.Coordinator c1 = run.fleet.coordinators().get(0);
          Fleet.Coordinator c2 = run.fleet.coordinators().get(1);
          CyclicBarrier together = new CyclicBarrier(2);
          run.fault("release requests to " + c1.name + " and " + c2.name + " at once", () -> {
            CompletableFuture<HttpResponse<String>> a = CompletableFuture.supplyAsync(() -> at(together, () -> run.postRelease(c1)));
            CompletableFuture<HttpResponse<String>> b = CompletableFuture.supplyAsync(() -> at(together, () -> run.postRelease(c2)));
            for (var entry : List.of(java.util.Map.entry(c1, a.join()), java.util.Map.entry(c2, b.join()))) {
              HttpResponse<String> r = entry.getValue();
              run.requests().put(entry.getKey().name, r.statusCode() + " " + CellRun.abbreviate(r.body(), 200));
              if (r.statusCode() == 202 && run.releaseId() == null) {
                run.adopt(Json.read(r.body(), ReleaseDocument.class).id());
              }
            }
            run.note("answers: " + run.requests());
          });
          if (run.releaseId() == null) {
            throw new AssertionError("neither request created a release: " + run.requests());
          }
        }));
    return cells;
  }

  /**
   * DESIGN.md's shutdown: on SIGTERM a coordinator "lets go of its lock and fence at once, so another instance
   * takes the release over in seconds (not after the lease runs out)". Seen from outside: when the process has
   * exited, the service's Redis lock is free or already another's.
   */
  private static List<String> handedOver(CellRun run) {
    String atExit = run.requests().get("exit");
    return atExit == null || atExit.startsWith("released") ? List.of()
        : List.of("expectation (handover on SIGTERM): " + atExit);
  }

  /** The contract committed once: its document says applied, and Flyway's history has V3 once. */
  private static List<String> contractAppliedOnce(CellRun run) {
    List<String> violations = new ArrayList<>();
    ReleaseDocument d = run.doc();
    if (d == null || d.contract().state() != ContractState.APPLIED) {
      violations.add("expectation: the contract applied, got " + (d == null ? "no release" : d.contract().state().wireName()
          + (d.contract().reason() == null ? "" : " (" + CellRun.abbreviate(d.contract().reason(), 200) + ")")));
    }
    long rows = run.count("SELECT count(*) FROM flyway_schema_history WHERE version = '3'");
    if (rows != 1) {
      violations.add("expectation: the contract (V3) once in flyway_schema_history, got " + rows + " row(s)");
    }
    return violations;
  }

  /** Waits for the moment a fault strikes in {@code phase}: for MIGRATING, the migration's slow statement running. */
  private static void strikeAt(CellRun run, Phase phase) {
    if (phase == MIGRATING) {
      run.awaitMigrationSleeping();
    } else {
      run.awaitPhase(phase);
    }
  }

  private static <T> T at(CyclicBarrier barrier, java.util.function.Supplier<T> work) {
    try {
      barrier.await();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return work.get();
  }

  // ---- one run -----------------------------------------------------------------------------------------------------

  /** The fleet of run {@code index}: started already while the previous run settled, or now. */
  private CellRun take(int index) {
    Planned p = plan.get(index);
    if (nextIndex == index && next != null) {
      CompletableFuture<CellRun> started = next;
      next = null;
      try {
        return started.join();
      } catch (java.util.concurrent.CompletionException e) {
        throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
      }
    }
    return CellRun.start(p.cell(), p.repetition());
  }

  /**
   * Starts the next run's fleet in the background once this run's release is terminal and its coordinators have
   * answered: booting some four JVMs overlaps the quiet window, the checks and the teardown of this one.
   */
  private void startNext(int index) {
    if (index + 1 < plan.size() && nextIndex != index + 1) {
      Planned p = plan.get(index + 1);
      nextIndex = index + 1;
      next = CompletableFuture.supplyAsync(() -> CellRun.start(p.cell(), p.repetition()));
    }
  }

  private void run(int index) {
    Cell cell = plan.get(index).cell();
    int repetition = plan.get(index).repetition();
    long started = System.currentTimeMillis();
    List<String> violations = new ArrayList<>();
    List<Invariants.Result> results = List.of();
    Throwable error = null;
    CellRun run;
    try {
      run = take(index);
    } catch (RuntimeException e) {
      startNext(index);
      throw e;
    }
    Path evidence = run.dir.resolve("evidence.md");
    ReleaseDocument end = null;
    Long takeover = null;
    Long firstEvent = null;
    Long terminal = null;
    try {
      try {
        cell.script().run(run);
      } catch (Throwable t) {
        error = t;
        violations.add("script: " + t.getMessage());
      }
      if (run.releaseId() != null) {
        run.awaitTerminal();
        run.awaitCoordinatorsAnswer();
        // The next run's JVMs boot during this one's quiet window (some 2 s of the 3): every coordinator of this run
        // has answered and its release is terminal, so nothing of it moves unless it breaks a rule, and a change
        // restarts the window.
        startNext(index);
        run.settle();
        end = run.doc();
        results = Invariants.check(run);
        for (Invariants.Result r : results) {
          r.violations().forEach(v -> violations.add(r.name() + ": " + v));
        }
        if (end != null && !cell.outcomes().contains(end.phase())) {
          violations.add("expectation: the release should end " + cell.outcomes() + ", it ended " + end.phase()
              + (end.reason() == null ? "" : ": " + CellRun.abbreviate(end.reason(), 300)));
        }
        for (Cell.Check check : cell.checks()) {
          violations.addAll(check.violations(run));
        }
        // Strict thread mode: a response written from outside its connection's loop is refused (docs/architecture.md).
        run.fleet.offLoopWrites().forEach(line -> violations.add("event loops: " + line));
        Long fault = run.faultAt();
        if (fault != null) {
          takeover = run.acquisitions().stream().filter(a -> a.at() >= fault - 50).map(a -> a.at() - fault).findFirst().orElse(null);
          firstEvent = run.events().stream().filter(e -> e.at() >= fault).map(e -> e.at() - fault).findFirst().orElse(null);
          terminal = run.terminalSeenAt() == null ? null : Math.max(0, run.terminalSeenAt() - fault);
        }
      }
    } catch (Throwable t) {
      error = error == null ? t : error;
      violations.add("harness: " + t);
    } finally {
      startNext(index);
      try {
        Evidence facts = new Evidence(run);
        facts.importLogMarks();
        facts.resumeTimings().forEach(run::note);
        evidence = facts.write(violations, results, error);
      } finally {
        run.close();
      }
      report.add(new MatrixReport.RunResult(cell, repetition, List.copyOf(violations), takeover, firstEvent, terminal,
          end == null ? null : end.phase().name(), run.loadAtFault(), run.notes(), evidence, System.currentTimeMillis() - started));
    }
    if (!violations.isEmpty()) {
      AssertionError failure = new AssertionError(cell.name() + " #" + repetition + " broke " + violations.size()
          + " rule(s):\n  - " + String.join("\n  - ", violations) + "\nevidence: " + evidence);
      if (error != null) {
        failure.initCause(error);
      }
      throw failure;
    }
  }

  private static boolean selected(String name) {
    if (FILTER.isBlank() || FILTER.trim().equalsIgnoreCase("all")) {
      return true;
    }
    String lower = name.toLowerCase(Locale.ROOT);
    boolean anyInclude = false;
    boolean included = false;
    for (String term : FILTER.toLowerCase(Locale.ROOT).split(",")) {
      String t = term.trim();
      if (t.isEmpty()) {
        continue;
      }
      if (t.startsWith("-")) {
        if (lower.contains(t.substring(1))) {
          return false;
        }
      } else {
        anyInclude = true;
        included |= lower.contains(t);
      }
    }
    return !anyInclude || included;
  }
}
