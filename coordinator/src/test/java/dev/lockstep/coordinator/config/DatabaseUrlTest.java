package dev.lockstep.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DatabaseUrlTest {
  @Test
  void readsThePlatformForm() {
    DatabaseUrl db = DatabaseUrl.parse("postgresql://app:s3cr%40t@db.internal:6543/shop?sslmode=require");
    assertThat(db.host()).isEqualTo("db.internal");
    assertThat(db.port()).isEqualTo(6543);
    assertThat(db.database()).isEqualTo("shop");
    assertThat(db.user()).isEqualTo("app");
    assertThat(db.password()).isEqualTo("s3cr@t");
    assertThat(db.jdbcUrl()).isEqualTo("jdbc:postgresql://db.internal:6543/shop?sslmode=require");
  }

  @Test
  void readsJdbcUrlsWithCredentialsInTheQuery() {
    DatabaseUrl db = DatabaseUrl.parse("jdbc:postgresql://localhost/shop?user=app&password=pw");
    assertThat(db.port()).isEqualTo(5432);
    assertThat(db.user()).isEqualTo("app");
    assertThat(db.password()).isEqualTo("pw");
    assertThat(db.jdbcUrl()).isEqualTo("jdbc:postgresql://localhost:5432/shop");
  }

  @Test
  void neverShowsThePassword() {
    DatabaseUrl db = DatabaseUrl.parse("postgres://app:hunter2@db/shop");
    assertThat(db.toString()).doesNotContain("hunter2").isEqualTo("postgresql://app:***@db:5432/shop");
    assertThatThrownBy(() -> DatabaseUrl.parse("mysql://app:hunter2@db/shop"))
        .hasMessageNotContaining("hunter2").hasMessageContaining("postgresql://");
  }

  @Test
  void refusesAUrlWithoutDatabase() {
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://db:5432")).hasMessageContaining("names no database");
    assertThatThrownBy(() -> DatabaseUrl.parse(null)).hasMessageContaining("LOCKSTEP_DATABASE_URL");
  }
}
