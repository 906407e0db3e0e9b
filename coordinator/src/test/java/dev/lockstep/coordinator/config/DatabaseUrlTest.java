package dev.lockstep.coordinator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

  @Test
  void readsTheTlsSettingsAsPgjdbcDoes(@TempDir Path dir) throws Exception {
    Path ca = Files.writeString(dir.resolve("ca & root.pem"), "not read here");
    assertThat(DatabaseUrl.parse("postgresql://db/shop").tls().mode()).isEqualTo(DatabaseTls.Mode.PREFER);
    assertThat(DatabaseUrl.parse("postgresql://db/shop?ssl=false").tls().mode()).isEqualTo(DatabaseTls.Mode.PREFER);
    assertThat(DatabaseUrl.parse("postgresql://db/shop?sslmode=disable").tls().mode()).isEqualTo(DatabaseTls.Mode.DISABLE);
    assertThat(DatabaseUrl.parse("postgresql://db/shop?sslmode=allow").tls().mode()).isEqualTo(DatabaseTls.Mode.ALLOW);
    assertThat(DatabaseUrl.parse("postgresql://db/shop?sslmode=REQUIRE").tls().mode()).isEqualTo(DatabaseTls.Mode.REQUIRE);
    String encoded = java.net.URLEncoder.encode(ca.toString(), java.nio.charset.StandardCharsets.UTF_8);
    DatabaseUrl full = DatabaseUrl.parse("postgresql://app:pw@db/shop?ssl=true&sslrootcert=" + encoded);
    assertThat(full.tls()).isEqualTo(new DatabaseTls(DatabaseTls.Mode.VERIFY_FULL, ca));
    assertThat(full.toString()).isEqualTo("postgresql://app:***@db:5432/shop?sslmode=verify-full");
    // pgjdbc decodes each value: the path survives its '&' and spaces.
    assertThat(full.jdbcUrl()).isEqualTo("jdbc:postgresql://db:5432/shop?ssl=true&sslrootcert=" + encoded.replace("+", "%20"));
    // libpq has no "ssl": the effective mode is spelled out for the backup command.
    assertThat(full.libpqUrl()).isEqualTo("postgresql://app:pw@db:5432/shop?sslmode=verify-full&sslrootcert="
        + encoded.replace("+", "%20"));
    assertThat(DatabaseUrl.parse("postgresql://db/shop?sslmode=verify-ca&sslrootcert=" + encoded).tls().rootCert()).isEqualTo(ca);
    assertThat(DatabaseUrl.parse("postgresql://db/shop?connectTimeout=5").libpqUrl())
        .isEqualTo("postgresql://postgres@db:5432/shop?sslmode=prefer&connectTimeout=5");
  }

  @Test
  void refusesTlsSettingsThePoolCannotHonourOrThatContradictEachOther(@TempDir Path dir) throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://app:hunter2@db/shop?sslmode=verify-all"))
        .hasMessageContaining("sslmode=verify-all is not one of disable, allow, prefer, require, verify-ca, verify-full")
        .hasMessageContaining("postgresql://app:***@db:5432/shop").hasMessageNotContaining("hunter2");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://db/shop?sslmode=require&sslrootcert=" + ca))
        .hasMessageContaining("sslrootcert is only used with sslmode=verify-ca or verify-full, but sslmode is require");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://db/shop?sslmode=disable&ssl=true"))
        .hasMessageContaining("ssl=true contradicts sslmode=disable");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://db/shop?sslmode=require&ssl=false"))
        .hasMessageContaining("ssl=false contradicts sslmode=require");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://db/shop?ssl=yes")).hasMessageContaining("ssl=yes is neither");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://db/shop?sslmode=require&sslfactory=org.postgresql.ssl.NonValidatingFactory"))
        .hasMessageContaining("sslfactory is not supported");
    assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://db/shop?sslmode=verify-full&sslrootcert=" + dir.resolve("none.pem")))
        .hasMessageContaining("sslmode=verify-full needs the CA certificate").hasMessageContaining("none.pem cannot be read");
  }

  @Test
  void aContradictoryUrlEndsServeWithExitStatus2BeforeItStartsAnything() {
    assertThat(dev.lockstep.coordinator.LockstepMain.run("serve", "--database-url", "postgresql://db/shop?sslmode=sometimes",
        "--token", "t", "--agent-secret", "a-secret-of-sixteen-bytes-or-more")).isEqualTo(2);
  }
}
