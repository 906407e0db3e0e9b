package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The schema's start-up step against a real PostgreSQL: a coordinator that starts while another one
 * is paused inside a write to {@code lockstep.releases} must not wait for it. Before the schema
 * carried its version, every start ran the DDL, whose {@code CREATE INDEX IF NOT EXISTS} waited
 * for the paused writer's lock for as long as it stayed paused.
 */
class LockstepSchemaIT {
  private static TestDatabase db;

  @BeforeAll
  static void createDatabase() throws SQLException {
    db = TestPostgres.instance().createDatabase("LockstepSchemaIT");
    try (Connection c = db.connect()) {
      assertThat(LockstepSchema.ensure(c)).as("a new database gets the schema").isTrue();
      assertThat(LockstepSchema.comment(c)).isEqualTo(LockstepSchema.CURRENT);
    }
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @Test
  void aCurrentSchemaIsNotTouchedSoAWriterHoldingReleasesDoesNotHoldBackStartUp() throws Exception {
    try (Connection writer = db.connect(); Connection starting = db.connect()) {
      holdReleases(writer);
      // Runs on another thread: were it to wait for the writer, the test ends (the writer rolls back) instead of hanging.
      CompletableFuture<Boolean> ensured = CompletableFuture.supplyAsync(() -> ensure(starting));
      assertThat(ensured.get(5, TimeUnit.SECONDS)).as("DDL ran").isFalse();
      writer.rollback();
    }
  }

  @Test
  void anOutdatedSchemaIsUpgradedAndItsCommentSaysSo() throws Exception {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      s.execute("DROP INDEX lockstep.releases_by_service");
      s.execute("COMMENT ON SCHEMA lockstep IS 'lockstep schema older'");
      assertThat(LockstepSchema.ensure(c)).isTrue();
      assertThat(LockstepSchema.comment(c)).isEqualTo(LockstepSchema.CURRENT);
      try (var rows = s.executeQuery("SELECT to_regclass('lockstep.releases_by_service') IS NOT NULL")) {
        assertThat(rows.next() && rows.getBoolean(1)).as("the index is back").isTrue();
      }
    }
  }

  /** An upgrade that must wait for the paused writer gives up after the lock timeout, which start-up retries. */
  @Test
  void anUpgradeBlockedByAWriterFailsWithALockTimeoutThatStartUpRetries() throws Exception {
    try (Connection writer = db.connect(); Connection starting = db.connect(); Statement s = starting.createStatement()) {
      s.execute("COMMENT ON SCHEMA lockstep IS 'lockstep schema older'");
      holdReleases(writer);
      long started = System.nanoTime();
      assertThatThrownBy(() -> LockstepSchema.ensure(starting)).isInstanceOfSatisfying(SQLException.class, e -> {
        assertThat(e.getSQLState()).isEqualTo("55P03");
        assertThat(StoreFailure.ofPostgres(e).kind()).isEqualTo(StoreFailure.Kind.UNREACHABLE);
      });
      assertThat((System.nanoTime() - started) / 1_000_000_000.0).as("seconds waited").isBetween(9.0, 30.0);
      assertThat(LockstepSchema.comment(starting)).as("nothing half-applied").isEqualTo("lockstep schema older");
      writer.rollback();
      assertThat(LockstepSchema.ensure(starting)).isTrue();
    }
  }

  /** A coordinator's journal write, left open: ROW EXCLUSIVE on lockstep.releases and its row's lock. */
  private static void holdReleases(Connection writer) throws SQLException {
    writer.setAutoCommit(false);
    try (Statement s = writer.createStatement()) {
      s.execute("INSERT INTO lockstep.releases (id, service, phase, document) VALUES ('r-" + System.nanoTime()
          + "', 'shop', 'PREPARING', '{}')");
    }
  }

  private static boolean ensure(Connection c) {
    try {
      return LockstepSchema.ensure(c);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
