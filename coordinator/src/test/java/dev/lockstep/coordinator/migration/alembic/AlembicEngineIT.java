package dev.lockstep.coordinator.migration.alembic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.LockstepSchema;
import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Alembic engine with the real {@code alembic} command and a real PostgreSQL: planning from
 * {@code history}/{@code current}, applying under the fence trigger, a failing revision, {@code -N}, and what the
 * trigger refuses. Each test has its own database.
 */
class AlembicEngineIT {
  static final Path PROJECTS = Path.of("src/test/resources/alembic").toAbsolutePath();
  private static final String SERVICE = "shop";

  private TestDatabase db;
  private DatabaseUrl url;

  @BeforeEach
  void createDatabase(TestInfo test) throws Exception {
    db = TestPostgres.instance().createDatabase("AlembicEngineIT_" + test.getTestMethod().orElseThrow().getName());
    url = DatabaseUrl.parse(db.postgresUrl());
    try (Connection c = new Connections(url).open("test-setup")) {
      LockstepSchema.ensure(c);
    }
  }

  @AfterEach
  void dropDatabase() {
    db.close();
  }

  static AlembicEngine engine(String project, DatabaseUrl url, Map<String, String> env) {
    Map<String, String> all = new java.util.HashMap<>(env);
    all.put("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(url));
    return new AlembicEngine(AlembicProject.open(PROJECTS.resolve(project).resolve("alembic.ini")),
        new AlembicCommand(List.of("alembic"), all, Duration.ofMinutes(5)), url, SERVICE, Duration.ofSeconds(10));
  }

  private long takeFence() throws Exception {
    try (Fence.Held held = Fence.acquire(new Connections(url).open("fence"), SERVICE, "test")) {
      return held.epoch();
    }
  }

  @Test
  void aReleaseToHeadAppliesTheThreeRevisionsInOrderUnderTheFence() throws Exception {
    AlembicEngine engine = engine("shop", url, Map.of());
    MigrationSet set = engine.folderSet();
    assertThat(set.kind()).isEqualTo(MigrationSet.Kind.ALEMBIC);

    MigrationPlan plan = engine.plan(set, "head");
    assertThat(plan.current()).isNull();
    assertThat(plan.target()).isEqualTo("c3d4e5f6a7b8");
    assertThat(plan.pending()).extracting(PendingMigration::version)
        .containsExactly("a1b2c3d4e5f6", "b2c3d4e5f6a7", "c3d4e5f6a7b8");
    assertThat(plan.steps()).hasSize(1);

    long epoch = takeFence();
    List<String> events = new ArrayList<>();
    List<AppliedMigration> applied = engine.migrate(set, plan.steps().get(0), epoch, events::add);
    assertThat(applied).extracting(AppliedMigration::version).containsExactly("a1b2c3d4e5f6", "b2c3d4e5f6a7", "c3d4e5f6a7b8");
    assertThat(applied.get(0).script()).isEqualTo("a1b2c3d4e5f6_create_user.py");
    assertThat(events).hasSize(3).allMatch(e -> e.startsWith("alembic: Running upgrade"));
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("c3d4e5f6a7b8");
    // The data migration read and wrote rows through op.get_bind().
    assertThat(db.queryLong("SELECT count(*) FROM \"user\" WHERE display_name IS NOT NULL")).isEqualTo(2);

    assertThat(engine.plan(set, "head").pending()).isEmpty();
    MigrationHistory history = engine.history(set, SERVICE);
    assertThat(history.current()).isEqualTo("c3d4e5f6a7b8");
    assertThat(history.applied()).extracting(MigrationHistory.Entry::version)
        .containsExactly("a1b2c3d4e5f6", "b2c3d4e5f6a7", "c3d4e5f6a7b8");
    assertThat(history.pending()).isEmpty();
  }

  @Test
  void aStaleEpochIsRefusedByTheTriggerInTheMigrationsOwnTransaction() throws Exception {
    AlembicEngine engine = engine("shop", url, Map.of());
    MigrationSet set = engine.folderSet();
    long stale = takeFence();
    engine.migrate(set, engine.plan(set, "a1b2c3d4e5f6").steps().get(0), stale, line -> {});
    long current = takeFence(); // another coordinator took the service over
    assertThat(current).isEqualTo(stale + 1);

    // The engine itself checks the fence before it starts alembic.
    assertThatThrownBy(() -> engine.migrate(set, engine.plan(set, null).steps().get(0), stale, line -> {}))
        .isInstanceOfSatisfying(LockstepException.class, e -> assertThat(e.is(LockstepException.Code.FENCED)).isTrue());
    // A stale alembic already running (as after SIGSTOP) reaches the trigger: its transaction fails and rolls back.
    AlembicCommand command = new AlembicCommand(List.of("alembic"), Map.of("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(url)),
        Duration.ofMinutes(2));
    try (AlembicProject.Workspace ws = AlembicProject.open(PROJECTS.resolve("shop/alembic.ini")).workspace(set)) {
      AlembicCommand.Result refused = command.run(ws, AlembicFence.sessionOptions(SERVICE, stale, 10_000, "stale"),
          line -> {}, "upgrade", "head");
      assertThat(refused.succeeded()).isFalse();
      assertThat(String.join("\n", refused.lines()))
          .contains("lockstep-fence: coordinator fenced out of service shop: it runs epoch " + stale + ", the fence is at "
              + current);
    }
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("a1b2c3d4e5f6");
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'orders'")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM information_schema.columns WHERE table_name = 'user'"
        + " AND column_name = 'display_name'")).as("b2's column was rolled back with the refused write").isZero();
  }

  @Test
  void aRunWithoutAnEpochIsRefusedUnlessItSaysUnfenced(@TempDir Path tmp) throws Exception {
    AlembicEngine engine = engine("shop", url, Map.of());
    MigrationSet set = engine.folderSet();
    engine.migrate(set, engine.plan(set, "a1b2c3d4e5f6").steps().get(0), takeFence(), line -> {});
    // An application instance still migrating at start-up, as before Lockstep.
    AlembicCommand plain = new AlembicCommand(List.of("alembic"), Map.of("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(url)),
        Duration.ofMinutes(2));
    AlembicProject project = AlembicProject.open(PROJECTS.resolve("shop/alembic.ini"));
    try (AlembicProject.Workspace ws = project.workspace(set)) {
      AlembicCommand.Result refused = plain.run(ws, Map.of(), line -> {}, "upgrade", "head");
      assertThat(refused.succeeded()).isFalse();
      assertThat(String.join("\n", refused.lines())).contains("lockstep-fence: alembic_version is fenced by Lockstep");
      assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("a1b2c3d4e5f6");
      assertThat(db.queryLong("SELECT count(*) FROM information_schema.columns WHERE table_name = 'user'"
          + " AND column_name = 'display_name'")).as("the refused run rolled back").isZero();

      AlembicCommand.Result byHand = plain.run(ws, AlembicFence.unfenced("by-hand"), line -> {}, "upgrade", "head");
      assertThat(byHand.succeeded()).as(byHand.tail(20)).isTrue();
      assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("c3d4e5f6a7b8");
    }
  }

  @Test
  void aBrokenRevisionFailsNamingItAndTheErrorAndLeavesTheSchemaAsItWas() throws Exception {
    AlembicEngine good = engine("shop", url, Map.of());
    good.migrate(good.folderSet(), good.plan(good.folderSet(), null).steps().get(0), takeFence(), line -> {});
    String before = db.fingerprint();

    AlembicEngine engine = engine("shop-broken", url, Map.of());
    MigrationSet set = engine.folderSet();
    MigrationPlan plan = engine.plan(set, null);
    assertThat(plan.pending()).extracting(PendingMigration::version).containsExactly("d4e5f6a7b8c9");
    long epoch = takeFence();
    assertThatThrownBy(() -> engine.migrate(set, plan.steps().get(0), epoch, line -> {}))
        .isInstanceOfSatisfying(LockstepException.class, e -> {
          assertThat(e.is(LockstepException.Code.MIGRATION_FAILED)).isTrue();
          assertThat(e.getMessage()).contains("in revision d4e5f6a7b8c9").contains("no_such_table")
              .contains("the database is at c3d4e5f6a7b8");
        });
    assertThat(db.fingerprint()).isEqualTo(before);
  }

  @Test
  void minusOnePlansTheUndoOfTheNewestRevisionAndAppliesIt() throws Exception {
    AlembicEngine engine = engine("shop", url, Map.of());
    MigrationSet set = engine.folderSet();
    engine.migrate(set, engine.plan(set, null).steps().get(0), takeFence(), line -> {});

    MigrationPlan down = engine.plan(set, "-1");
    assertThat(down.downgrade()).isTrue();
    assertThat(down.target()).isEqualTo("b2c3d4e5f6a7");
    assertThat(down.pendingLabels()).containsExactly("undo c3d4e5f6a7b8 (create table orders)");
    long epoch = takeFence();
    List<AppliedMigration> undone = new ArrayList<>();
    for (MigrationPlan.Step step : down.steps()) {
      undone.addAll(engine.migrate(set, step, epoch, line -> {}));
    }
    assertThat(undone).extracting(AppliedMigration::version).containsExactly("c3d4e5f6a7b8");
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("b2c3d4e5f6a7");
    assertThat(engine.plan(set, "-3").target()).isEqualTo("base");
    assertThatThrownBy(() -> engine.plan(set, "zzzz")).hasMessageContaining("Alembic revision zzzz is not in");
  }

  @Test
  void aLockTimeoutInsideAlembicIsReportedAsOneSoTheReleaseRetriesIt() throws Exception {
    AlembicEngine first = engine("shop", url, Map.of());
    MigrationSet set = first.folderSet();
    first.migrate(set, first.plan(set, "a1b2c3d4e5f6").steps().get(0), takeFence(), line -> {});
    AlembicEngine engine = new AlembicEngine(AlembicProject.open(PROJECTS.resolve("shop/alembic.ini")),
        new AlembicCommand(List.of("alembic"), Map.of("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(url)),
            Duration.ofMinutes(2)), url, SERVICE, Duration.ofMillis(500));
    long epoch = takeFence();
    try (Connection holder = db.connect(); java.sql.Statement s = holder.createStatement()) {
      holder.setAutoCommit(false);
      s.execute("LOCK TABLE \"user\" IN ACCESS EXCLUSIVE MODE"); // a long transaction in the way
      assertThatThrownBy(() -> engine.migrate(set, engine.plan(set, "b2c3d4e5f6a7").steps().get(0), epoch, line -> {}))
          .isInstanceOfSatisfying(LockstepException.class, e -> {
            assertThat(e.lockTimeout()).as(e.getMessage()).isTrue();
            assertThat(e.getMessage()).contains("in revision b2c3d4e5f6a7").contains("lock timeout");
          });
      holder.rollback();
    }
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("a1b2c3d4e5f6");
  }

  @Test
  void aVariableEnvPyNeedsIsNamedBeforeAnythingIsLocked(@TempDir Path tmp) throws Exception {
    // The seed guide's pitfall: env.py reads a variable the coordinator's shell does not have.
    Path project = copyProject("shop", tmp);
    Path env = project.resolve("migrations/env.py");
    Files.writeString(env, "import os\nos.environ[\"WEBUI_SECRET_KEY\"]\n" + Files.readString(env));
    AlembicEngine engine = new AlembicEngine(AlembicProject.open(project.resolve("alembic.ini")),
        new AlembicCommand(List.of("alembic"), AlembicEnvironment.of(url, List.of(), null), Duration.ofMinutes(2)),
        url, SERVICE, Duration.ofSeconds(10));
    assertThatThrownBy(() -> engine.plan(engine.folderSet(), null))
        .isInstanceOfSatisfying(LockstepException.class, e -> {
          assertThat(e.is(LockstepException.Code.UNPROCESSABLE)).isTrue();
          assertThat(e.getMessage()).contains("needs the environment variable WEBUI_SECRET_KEY")
              .contains("--engine-env WEBUI_SECRET_KEY=");
        });
    AlembicEngine given = new AlembicEngine(AlembicProject.open(project.resolve("alembic.ini")),
        new AlembicCommand(List.of("alembic"), AlembicEnvironment.of(url, List.of("WEBUI_SECRET_KEY=s3cret"), null),
            Duration.ofMinutes(2)), url, SERVICE, Duration.ofSeconds(10));
    assertThat(given.plan(given.folderSet(), null).pending()).hasSize(3);
  }

  static Path copyProject(String name, Path into) {
    return dev.lockstep.testkit.TestFiles.copyTree(PROJECTS.resolve(name), into.resolve(name));
  }
}
