package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A real JDBC connection ended by {@code pg_terminate_backend}, as a PostgreSQL restart ends it. */
class OutagesIT {
  private static TestDatabase db;

  @BeforeAll
  static void create() {
    db = TestPostgres.instance().createDatabase("OutagesIT");
  }

  @AfterAll
  static void drop() {
    db.close();
  }

  @Test
  void aTerminatedJdbcConnectionIsAPostgresOutage() throws Exception {
    try (Connection victim = db.connect()) {
      long pid;
      try (Statement s = victim.createStatement(); ResultSet r = s.executeQuery("SELECT pg_backend_pid()")) {
        r.next();
        pid = r.getLong(1);
      }
      assertThat(db.queryLong("SELECT count(*) FROM pg_terminate_backend(" + pid + ") WHERE pg_terminate_backend")).isEqualTo(1);

      Throwable first = catchThrowable(() -> victim.createStatement().executeQuery("SELECT 1"));
      Throwable again = catchThrowable(() -> victim.createStatement().executeQuery("SELECT 1"));

      assertThat(first).as("the statement on the terminated connection").isInstanceOf(java.sql.SQLException.class);
      assertThat(Outages.storeOf(first)).as(first.toString()).isEqualTo("PostgreSQL");
      assertThat(Outages.storeOf(again)).as(again.toString()).isEqualTo("PostgreSQL");
    }
  }
}
