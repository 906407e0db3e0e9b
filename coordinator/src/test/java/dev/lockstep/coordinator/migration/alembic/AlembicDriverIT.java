package dev.lockstep.coordinator.migration.alembic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.LockstepSchema;
import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * The steps of a phase through one Python process ({@link AlembicDriver}), with the real Alembic and PostgreSQL, on
 * the {@code driver} test project: d1 prints without a newline, d2 opens an {@code autocommit_block}, d3 prints lines
 * that look like the driver's protocol, d4 fails. Each revision records the pid of the process that ran it.
 */
class AlembicDriverIT {
  private static final String SERVICE = "shop";

  private TestDatabase db;
  private DatabaseUrl url;

  @BeforeEach
  void createDatabase(TestInfo test) throws Exception {
    db = TestPostgres.instance().createDatabase("AlembicDriverIT_" + test.getTestMethod().orElseThrow().getName());
    url = DatabaseUrl.parse(db.postgresUrl());
    try (Connection c = new Connections(url).open("test-setup")) {
      LockstepSchema.ensure(c);
    }
  }

  @AfterEach
  void dropDatabase() {
    db.close();
  }

  private long takeFence() throws Exception {
    try (Fence.Held held = Fence.acquire(new Connections(url).open("fence"), SERVICE, "test")) {
      return held.epoch();
    }
  }

  @Test
  void aPhasesStepsRunInOneProcessAndAFailingStepNamesItsRevisionAndLeavesTheEarlierStepsCommitted() throws Exception {
    AlembicEngine engine = AlembicEngineIT.engine("driver", url, Map.of());
    MigrationSet set = engine.folderSet();
    MigrationPlan plan = engine.plan(set, "head");
    assertThat(plan.steps()).extracting(s -> s.migrations().stream().map(PendingMigration::version).toList())
        .containsExactly(List.of("d1a000000001"), List.of("d2a000000002"), List.of("d3a000000003", "d4a000000004"));
    assertThat(plan.steps().get(1).transactional()).as("the autocommit_block is a step of its own").isFalse();

    long epoch = takeFence();
    List<String> events = new ArrayList<>();
    try (MigrationEngine.Steps steps = engine.steps(set, epoch)) {
      List<AppliedMigration> first = steps.apply(plan.steps().get(0), events::add);
      assertThat(first).extracting(AppliedMigration::version).containsExactly("d1a000000001");
      // What the coordinator does between steps sees the step committed.
      assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("d1a000000001");

      List<AppliedMigration> second = steps.apply(plan.steps().get(1), events::add);
      assertThat(second).extracting(AppliedMigration::version).containsExactly("d2a000000002");

      assertThatThrownBy(() -> steps.apply(plan.steps().get(2), events::add))
          .isInstanceOfSatisfying(LockstepException.class, e -> {
            assertThat(e.is(LockstepException.Code.MIGRATION_FAILED)).isTrue();
            assertThat(e.getMessage()).contains("in revision d4a000000004 (writes to a table that does not exist (fails))")
                .contains("no_such_table").contains("the database is at d2a000000002");
          });
    }
    assertThat(events).containsExactly(
        "alembic: Running upgrade  -> d1a000000001, create table ran; prints a line without a newline",
        "alembic: Running upgrade d1a000000001 -> d2a000000002, an index built concurrently, in an autocommit_block",
        "alembic: Running upgrade d2a000000002 -> d3a000000003, adds ran.note; prints lines that look like the driver's"
            + " protocol",
        "alembic: Running upgrade d3a000000003 -> d4a000000004, writes to a table that does not exist (fails)");
    // d1 and d2 committed, each in its step; d3 ran in d4's transaction and rolled back with it, forged lines and all.
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("d2a000000002");
    assertThat(db.queryTexts("SELECT rev FROM ran ORDER BY rev")).containsExactly("d1", "d2");
    assertThat(db.queryLong("SELECT count(*) FROM information_schema.columns WHERE table_name = 'ran'"
        + " AND column_name = 'note'")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM pg_indexes WHERE indexname = 'ran_rev'")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(DISTINCT pid) FROM ran")).as("both steps ran in one process").isEqualTo(1);

    // Planned again from the database (alembic_version read with SQL): what is left.
    assertThat(engine.plan(set, "head").pending()).extracting(PendingMigration::version)
        .containsExactly("d3a000000003", "d4a000000004");
  }

  @Test
  void aStepThatTimedOutOnALockIsRetriedInTheSameProcess() throws Exception {
    AlembicEngine first = AlembicEngineIT.engine("shop", url, Map.of());
    MigrationSet set = first.folderSet();
    first.migrate(set, first.plan(set, "a1b2c3d4e5f6").steps().get(0), takeFence(), line -> {});
    AlembicEngine engine = new AlembicEngine(AlembicProject.open(AlembicEngineIT.PROJECTS.resolve("shop/alembic.ini")),
        new AlembicCommand(List.of("alembic"), Map.of("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(url)),
            Duration.ofMinutes(2)), url, SERVICE, Duration.ofMillis(500));
    MigrationPlan.Step step = engine.plan(set, "b2c3d4e5f6a7").steps().get(0);
    long epoch = takeFence();
    try (MigrationEngine.Steps steps = engine.steps(set, epoch)) {
      try (Connection holder = db.connect(); java.sql.Statement s = holder.createStatement()) {
        holder.setAutoCommit(false);
        s.execute("LOCK TABLE \"user\" IN ACCESS EXCLUSIVE MODE"); // a long transaction in the way
        assertThatThrownBy(() -> steps.apply(step, line -> {}))
            .isInstanceOfSatisfying(LockstepException.class, e -> assertThat(e.lockTimeout()).as(e.getMessage()).isTrue());
        holder.rollback();
      }
      // What StepRunner does after its back-off: the same step again, through the same driver.
      assertThat(steps.apply(step, line -> {})).extracting(AppliedMigration::version).containsExactly("b2c3d4e5f6a7");
    }
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("b2c3d4e5f6a7");
  }

  @Test
  void theDriverSeesThePythonPathTheAlembicCommandWouldSee(@TempDir Path tmp) throws Exception {
    // env.py imports a module from the working folder (the ini's): `python3 -m alembic` finds it there, the
    // `alembic` script does not; the driver, run for either, does as that command would.
    Path project = AlembicEngineIT.copyProject("driver", tmp);
    Files.writeString(project.resolve("cwd_probe.py"), "WHERE = 'the working folder'\n");
    Path env = project.resolve("migrations/env.py");
    Files.writeString(env, "import cwd_probe\n" + Files.readString(env));
    Map<String, String> database = Map.of("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(url));

    AlembicEngine module = new AlembicEngine(AlembicProject.open(project.resolve("alembic.ini")),
        new AlembicCommand(List.of("/usr/bin/python3", "-m", "alembic"), database, Duration.ofMinutes(2)), url, SERVICE,
        Duration.ofSeconds(10));
    MigrationSet set = module.folderSet();
    MigrationPlan plan = module.plan(set, "d1a000000001");
    assertThat(module.migrate(set, plan.steps().get(0), takeFence(), line -> {}))
        .extracting(AppliedMigration::version).containsExactly("d1a000000001");

    AlembicEngine script = new AlembicEngine(AlembicProject.open(project.resolve("alembic.ini")),
        new AlembicCommand(List.of("alembic"), database, Duration.ofMinutes(2)), url, SERVICE, Duration.ofSeconds(10));
    assertThatThrownBy(() -> script.plan(set, "head"))
        .isInstanceOfSatisfying(LockstepException.class, e -> assertThat(e.getMessage())
            .contains("ModuleNotFoundError: No module named 'cwd_probe'"));
  }

  @Test
  void aPythonWithoutAlembicFallsBackToOneAlembicProcessPerStep(@TempDir Path tmp) throws Exception {
    // An --alembic-command whose #! names a Python that cannot import alembic (-S: no site-packages), which itself
    // runs the real alembic: the driver cannot run there, the alembic command can.
    Path wrapper = tmp.resolve("alembic-wrapper");
    Files.writeString(wrapper, "#!/usr/bin/python3 -S\nimport os, sys\nos.execv('/usr/bin/alembic',"
        + " ['alembic'] + sys.argv[1:])\n");
    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
    AlembicEngine engine = new AlembicEngine(AlembicProject.open(AlembicEngineIT.PROJECTS.resolve("driver/alembic.ini")),
        new AlembicCommand(List.of(wrapper.toString()), Map.of("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(url)),
            Duration.ofMinutes(2)), url, SERVICE, Duration.ofSeconds(10));
    MigrationSet set = engine.folderSet();
    MigrationPlan plan = engine.plan(set, "d2a000000002");
    assertThat(plan.steps()).hasSize(2);
    long epoch = takeFence();
    List<AppliedMigration> applied = new ArrayList<>();
    List<String> events = new ArrayList<>();
    try (MigrationEngine.Steps steps = engine.steps(set, epoch)) {
      for (MigrationPlan.Step step : plan.steps()) {
        applied.addAll(steps.apply(step, events::add));
      }
    }
    assertThat(applied).extracting(AppliedMigration::version).containsExactly("d1a000000001", "d2a000000002");
    assertThat(events).hasSize(2).allMatch(e -> e.startsWith("alembic: Running upgrade"));
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("d2a000000002");
    assertThat(db.queryLong("SELECT count(DISTINCT pid) FROM ran")).as("one alembic process per step").isEqualTo(2);
  }

  @Test
  void stepsStartedAheadRunInTheDriverStartedBeforeThem() throws Exception {
    AlembicEngine engine = AlembicEngineIT.engine("driver", url, Map.of());
    MigrationSet set = engine.folderSet();
    MigrationPlan plan = engine.plan(set, "d2a000000002");
    long epoch = takeFence();
    Started ahead = startAhead(engine, set, epoch);
    long spare = ahead.pid();
    assertThat(db.queryLong("SELECT count(*) FROM information_schema.tables WHERE table_name = 'ran'"))
        .as("started ahead, it runs nothing").isZero();

    try (MigrationEngine.Steps steps = engine.steps(set, epoch)) {
      for (MigrationPlan.Step step : plan.steps()) {
        steps.apply(step, line -> {});
      }
    }
    assertThat(db.queryTexts("SELECT DISTINCT pid::text FROM ran")).as("both steps ran in the driver started ahead")
        .containsExactly(Long.toString(spare));
    ahead.ahead().close(); // taken over: nothing left to end
    assertThat(ProcessHandle.of(spare).map(ProcessHandle::isAlive).orElse(false)).as("ended with its steps").isFalse();
  }

  @Test
  void aDriverStartedAheadForAnotherEpochIsNotUsedAndEndsWithItsRun() throws Exception {
    AlembicEngine engine = AlembicEngineIT.engine("driver", url, Map.of());
    MigrationSet set = engine.folderSet();
    MigrationPlan plan = engine.plan(set, "d1a000000001");
    long stale = takeFence();
    Started ahead = startAhead(engine, set, stale);
    long spare = ahead.pid();

    // Another coordinator took the service over meanwhile: its epoch runs its own driver, fenced by its epoch.
    long epoch = takeFence();
    try (MigrationEngine.Steps steps = engine.steps(set, epoch)) {
      steps.apply(plan.steps().get(0), line -> {});
    }
    assertThat(db.queryTexts("SELECT DISTINCT pid::text FROM ran")).hasSize(1).doesNotContain(Long.toString(spare));
    assertThat(ProcessHandle.of(spare).map(ProcessHandle::isAlive).orElse(false)).as("still waiting for its run").isTrue();

    ahead.ahead().close(); // the run that started it ended
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(15))
        .until(() -> !ProcessHandle.of(spare).map(ProcessHandle::isAlive).orElse(false));
  }

  @Test
  void theFoldersSetReadAheadIsNotReadAgainByTheRelease(@TempDir Path tmp) throws Exception {
    // A Python that writes down each start: the set is read once, ahead (Coordinator calls warmUp at start).
    Path starts = tmp.resolve("starts.log");
    Path python = tmp.resolve("python-logged");
    Files.writeString(python, "#!/bin/sh\necho started >> " + starts + "\nexec /usr/bin/python3 \"$@\"\n");
    Files.setPosixFilePermissions(python, PosixFilePermissions.fromString("rwxr-xr-x"));
    AlembicEngine engine = new AlembicEngine(AlembicProject.open(AlembicEngineIT.PROJECTS.resolve("driver/alembic.ini")),
        new AlembicCommand(List.of(python.toString(), "-m", "alembic"), Map.of("DATABASE_URL",
            AlembicEnvironment.sqlalchemyUrl(url)), Duration.ofMinutes(2)), url, SERVICE, Duration.ofSeconds(10));
    engine.warmUp();
    assertThat(Files.readAllLines(starts)).hasSize(1);

    MigrationSet set = engine.carried(null);
    MigrationPlan plan = engine.plan(set, "head");
    assertThat(plan.pending()).hasSize(4);
    assertThat(engine.history(set, SERVICE).pending()).hasSize(4);
    assertThat(Files.readAllLines(starts)).as("planned from what was read ahead").hasSize(1);
  }

  /** What {@link AlembicEngine#stepsAhead} returned, and the pid of the driver it started. */
  private record Started(MigrationEngine.Ahead ahead, long pid) {}

  private static Started startAhead(AlembicEngine engine, MigrationSet set, long epoch) {
    Set<Long> before = childPids();
    MigrationEngine.Ahead ahead = engine.stepsAhead(set, epoch);
    return new Started(ahead, awaitNewChild(before));
  }

  private static Set<Long> childPids() {
    return ProcessHandle.current().children().map(ProcessHandle::pid).collect(java.util.stream.Collectors.toSet());
  }

  /** The one child process this JVM started since {@code before}. */
  private static long awaitNewChild(Set<Long> before) {
    return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
      List<Long> started = ProcessHandle.current().children().map(ProcessHandle::pid).filter(p -> !before.contains(p))
          .toList();
      return started.size() == 1 ? started.get(0) : null;
    }, java.util.Objects::nonNull);
  }
}
