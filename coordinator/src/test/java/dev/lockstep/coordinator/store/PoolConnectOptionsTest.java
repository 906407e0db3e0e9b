package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.config.DatabaseUrl;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.SslMode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What the pool is told for each sslmode, without a server; {@code StoreTlsIT} shows it against one. */
class PoolConnectOptionsTest {

  @ParameterizedTest
  @CsvSource({"'', PREFER", "?sslmode=disable, DISABLE", "?sslmode=allow, ALLOW", "?sslmode=prefer, PREFER",
      "?sslmode=require, REQUIRE", "?ssl=false, PREFER"})
  void belowVerifyCaItEncryptsWithoutCheckingTheCertificateAsPgjdbcDoes(String query, SslMode mode) {
    PgConnectOptions connect = PoolConnectOptions.of(DatabaseUrl.parse("postgresql://app:pw@db:6543/shop" + query), "lockstep-x/app");
    assertThat(connect.getSslMode()).isEqualTo(mode);
    assertThat(connect.getHost()).isEqualTo("db");
    assertThat(connect.getPort()).isEqualTo(6543);
    assertThat(connect.getUser()).isEqualTo("app");
    assertThat(connect.getPassword()).isEqualTo("pw");
    assertThat(connect.getProperties()).containsEntry("application_name", "lockstep-x/app");
    if (mode != SslMode.DISABLE) {
      assertThat(connect.getSslOptions().isTrustAll()).isTrue();
      assertThat(connect.getSslOptions().getTrustOptions()).isNull();
    }
  }

  @Test
  void verifyCaTrustsTheRootCertOnlyAndVerifyFullChecksTheHostToo(@TempDir Path dir) throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
    PgConnectOptions ca1 = PoolConnectOptions.of(DatabaseUrl.parse("postgresql://db/shop?sslmode=verify-ca&sslrootcert=" + ca), "x");
    assertThat(ca1.getSslMode()).isEqualTo(SslMode.VERIFY_CA);
    assertThat(ca1.getSslOptions().isTrustAll()).isFalse();
    assertThat(((PemTrustOptions) ca1.getSslOptions().getTrustOptions()).getCertPaths()).containsExactly(ca.toString());
    assertThat(ca1.getSslOptions().getHostnameVerificationAlgorithm()).isEmpty();

    PgConnectOptions full = PoolConnectOptions.of(DatabaseUrl.parse("postgresql://db/shop?ssl=true&sslrootcert=" + ca), "x");
    assertThat(full.getSslMode()).isEqualTo(SslMode.VERIFY_FULL);
    assertThat(full.getSslOptions().isTrustAll()).isFalse();
    assertThat(full.getSslOptions().getHostnameVerificationAlgorithm()).isEqualTo("HTTPS");
  }
}
