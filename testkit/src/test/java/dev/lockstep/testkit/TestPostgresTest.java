package dev.lockstep.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

class TestPostgresTest {
  private final TestPostgres postgres = TestPostgres.instance();

  @Test
  void createsAUsableDatabaseAndDropsItOnClose() throws SQLException {
    TestDatabase db = postgres.createDatabase(TestPostgresTest.class.getSimpleName());
    try {
      assertThat(db.name()).matches("testpostgrestest_[0-9a-f]{8}");
      assertThat(existing(db.name())).isEqualTo(1);
      assertThat(db.jdbcUrl()).isEqualTo(
          "jdbc:postgresql://" + postgres.host() + ":" + postgres.port() + "/" + db.name());
      assertThat(db.postgresUrl()).startsWith("postgresql://" + postgres.user())
          .endsWith("@" + postgres.host() + ":" + postgres.port() + "/" + db.name());

      db.execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2), (3)");
      assertThat(db.queryLong("SELECT count(*) FROM t")).isEqualTo(3);
      try (Connection connection = db.connect()) {
        assertThat(connection.getAutoCommit()).isTrue();
        assertThat(connection.getCatalog()).isEqualTo(db.name());
      }
      // Left open on purpose: close() must still drop the database.
      Connection leftOpen = db.connect();
      db.close();
      assertThat(leftOpen.isValid(2)).isFalse();
      leftOpen.close();
    } finally {
      db.close();
    }
    assertThat(existing(db.name())).isZero();
    db.close(); // a second close does nothing
    assertThatThrownBy(db::connect).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }

  @Test
  void failedStatementsNameTheDatabaseAndTheStatement() {
    try (TestDatabase db = postgres.createDatabase("failures")) {
      assertThatThrownBy(() -> db.execute("SELECT * FROM missing_table"))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining(db.name())
          .hasMessageContaining("missing_table")
          .hasCauseInstanceOf(SQLException.class);
    }
  }

  @Test
  void sanitisesTheHintIntoAValidDatabaseName() {
    assertThat(TestPostgres.databaseName("My Test$Class")).matches("my_test_class_[0-9a-f]{8}");
    assertThat(TestPostgres.databaseName("42things")).matches("t_42things_[0-9a-f]{8}");
    assertThat(TestPostgres.databaseName("\"; DROP DATABASE postgres; --")).matches("drop_database_postgres_[0-9a-f]{8}");
    assertThat(TestPostgres.databaseName("")).matches("test_[0-9a-f]{8}");
    assertThat(TestPostgres.databaseName("x".repeat(100))).hasSize(63);
    assertThat(TestPostgres.databaseName("a")).isNotEqualTo(TestPostgres.databaseName("a"));
  }

  @Test
  void discoveryHappensOncePerJvm() {
    assertThat(TestPostgres.instance()).isSameAs(postgres);
  }

  private long existing(String name) {
    try (TestDatabase probe = postgres.createDatabase("probe")) {
      return probe.queryLong("SELECT count(*) FROM pg_database WHERE datname = '" + name + "'");
    }
  }
}
