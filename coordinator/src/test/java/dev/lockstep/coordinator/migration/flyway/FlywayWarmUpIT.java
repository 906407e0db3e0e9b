package dev.lockstep.coordinator.migration.flyway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the coordinator runs at start so its first release is not the one to load Flyway ({@link FlywayEngine#warmUp}):
 * it reads the folder and the database and writes nothing, and a folder Flyway refuses fails it (the coordinator only
 * logs that; the release reports it).
 */
class FlywayWarmUpIT {
  private TestDatabase db;
  private DatabaseUrl url;

  @BeforeEach
  void createDatabase() {
    db = TestPostgres.instance().createDatabase("FlywayWarmUpIT");
    url = DatabaseUrl.parse(db.postgresUrl());
  }

  @AfterEach
  void dropDatabase() {
    db.close();
  }

  @Test
  void warmingUpReadsTheFolderAndTheDatabaseAndWritesNothing(@TempDir Path folder) throws Exception {
    Files.writeString(folder.resolve("V1__orders.sql"), "CREATE TABLE orders (id bigint PRIMARY KEY);");
    Files.writeString(folder.resolve("V2__index.sql"), "CREATE INDEX orders_id ON orders (id);");
    FlywayEngine engine = new FlywayEngine(url, folder, "shop", Duration.ofSeconds(5));

    engine.warmUp();

    assertThat(db.queryLong("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"))
        .as("no history table, no migration run").isZero();
    assertThat(engine.plan(engine.folderSet(), null).pending()).hasSize(2);
  }

  @Test
  void aFolderFlywayRefusesFailsTheWarmUp(@TempDir Path folder) throws Exception {
    Files.writeString(folder.resolve("V1__orders.sql"), "CREATE TABLE orders (id bigint PRIMARY KEY);");
    Files.writeString(folder.resolve("V1__again.sql"), "CREATE TABLE again (id bigint);");
    FlywayEngine engine = new FlywayEngine(url, folder, "shop", Duration.ofSeconds(5));

    assertThatThrownBy(engine::warmUp).isInstanceOf(LockstepException.class).hasMessageContaining("V1");
  }
}
