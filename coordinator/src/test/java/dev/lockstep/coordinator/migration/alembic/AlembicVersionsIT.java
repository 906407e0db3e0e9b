package dev.lockstep.coordinator.migration.alembic;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.LockstepSchema;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * The current revisions read with SQL ({@link AlembicVersions}) instead of {@code alembic current}, on a real
 * PostgreSQL: no table, an empty table, two heads, another schema; and an env.py that keeps its revisions in another
 * table, which the engine must notice and then ask {@code alembic current}.
 */
class AlembicVersionsIT {
  private TestDatabase db;
  private DatabaseUrl url;

  @BeforeEach
  void createDatabase(TestInfo test) throws Exception {
    db = TestPostgres.instance().createDatabase("AlembicVersionsIT_" + test.getTestMethod().orElseThrow().getName());
    url = DatabaseUrl.parse(db.postgresUrl());
    try (Connection c = new Connections(url).open("test-setup")) {
      LockstepSchema.ensure(c);
    }
  }

  @AfterEach
  void dropDatabase() {
    db.close();
  }

  @Test
  void noTableIsNoRevisionAndEveryRowIsAHead() throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      assertThat(AlembicVersions.read(c, AlembicDriver.VersionTable.DEFAULT)).as("an empty database").isEmpty();

      s.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)");
      assertThat(AlembicVersions.read(c, AlembicDriver.VersionTable.DEFAULT)).as("created, nothing applied").isEmpty();

      // Two branches applied and not merged yet: one row per head, as alembic current lists them.
      s.execute("INSERT INTO alembic_version VALUES ('e5f6a7b8c9d0'), ('a1b2c3d4e5f6')");
      assertThat(AlembicVersions.read(c, AlembicDriver.VersionTable.DEFAULT))
          .containsExactly("a1b2c3d4e5f6", "e5f6a7b8c9d0");

      s.execute("CREATE SCHEMA \"Meta\"");
      s.execute("CREATE TABLE \"Meta\".app_versions (version_num varchar(32) PRIMARY KEY)");
      s.execute("INSERT INTO \"Meta\".app_versions VALUES ('c3d4e5f6a7b8')");
      assertThat(AlembicVersions.read(c, new AlembicDriver.VersionTable("Meta", "app_versions")))
          .containsExactly("c3d4e5f6a7b8");
      assertThat(AlembicVersions.read(c, new AlembicDriver.VersionTable(null, "app_versions")))
          .as("not on the search_path").isEmpty();
    }
  }

  @Test
  void aRevisionWrittenBehindTheEnginesBackIsSeenByTheNextPlan() throws Exception {
    // The shop project's first revision applied; plan() reads alembic_version with SQL after alembic current agreed.
    AlembicEngine engine = AlembicEngineIT.engine("shop", url, Map.of());
    MigrationSet set = engine.folderSet();
    assertThat(engine.plan(set, "head").current()).isNull();
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("SET lockstep.epoch = 'unfenced'");
      s.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)");
      s.execute("INSERT INTO alembic_version VALUES ('b2c3d4e5f6a7')");
    }
    assertThat(engine.plan(set, "head").current()).isEqualTo("b2c3d4e5f6a7");
    assertThat(engine.plan(set, "head").pending()).extracting(PendingMigration::version).containsExactly("c3d4e5f6a7b8");
  }

  @Test
  void anEnvPyWithAnotherVersionTableIsAskedWithAlembicCurrent(@TempDir Path tmp) throws Exception {
    // Spelled so that no "version_table" is in env.py's text: the driver reports what env.py configured.
    Path project = AlembicEngineIT.copyProject("shop", tmp);
    Path env = project.resolve("migrations/env.py");
    String text = Files.readString(env);
    String online = "            transaction_per_migration=txn_per_migration,\n        )\n        with context.begin_transaction():";
    assertThat(text).contains(online);
    Files.writeString(env, text.replace(online, "            transaction_per_migration=txn_per_migration,\n"
        + "            **{\"version\" + \"_table\": \"shop_versions\"},\n        )\n        with context.begin_transaction():"));
    AlembicEngine engine = new AlembicEngine(AlembicProject.open(project.resolve("alembic.ini")),
        new dev.lockstep.coordinator.migration.alembic.AlembicCommand(java.util.List.of("alembic"),
            Map.of("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(url)), java.time.Duration.ofMinutes(2)),
        url, "shop", java.time.Duration.ofSeconds(10));
    MigrationSet set = engine.folderSet();
    // Migrated before Lockstep to the second revision, in env.py's table: the first plan already sees it there.
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE shop_versions (version_num varchar(32) PRIMARY KEY)");
      s.execute("INSERT INTO shop_versions VALUES ('a1b2c3d4e5f6')");
      s.execute("CREATE TABLE \"user\" (id int PRIMARY KEY, name text, email text)");
    }
    assertThat(engine.plan(set, "head").pending()).extracting(PendingMigration::version)
        .containsExactly("b2c3d4e5f6a7", "c3d4e5f6a7b8");
    long epoch;
    try (Fence.Held held = Fence.acquire(new Connections(url).open("fence"), "shop", "test")) {
      epoch = held.epoch();
    }
    engine.migrate(set, engine.plan(set, "head").steps().get(0), epoch, line -> {});
    assertThat(db.queryText("SELECT version_num FROM shop_versions")).isEqualTo("c3d4e5f6a7b8");
    // alembic_version exists (the fence's trigger sits on it) but is empty: a SQL read of it would plan all three again.
    assertThat(db.queryLong("SELECT count(*) FROM alembic_version")).isZero();
    assertThat(engine.plan(set, "head").pending()).isEmpty();
    assertThat(engine.history(set, "shop").current()).isEqualTo("c3d4e5f6a7b8");
  }
}
