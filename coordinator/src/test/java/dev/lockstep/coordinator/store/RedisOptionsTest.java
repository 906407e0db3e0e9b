package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.config.RedisUrl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redisson.config.SslVerificationMode;

/** The Redis trust option's refusals, without a server; the TLS connection itself is shown by {@code StoreTlsIT}. */
class RedisOptionsTest {

  @Test
  void aCaCertOnlyGoesWithRediss(@TempDir Path dir) throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
    assertThatThrownBy(() -> RedisOptions.of(RedisUrl.parse("redis://:s3cret@cache:6379"), ca))
        .hasMessageContaining("is not TLS; use rediss://").hasMessageNotContaining("s3cret");
  }

  @Test
  void aCaCertMustHoldPemCertificates(@TempDir Path dir) throws Exception {
    Path junk = Files.writeString(dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
    assertThatThrownBy(() -> RedisOptions.of(RedisUrl.parse("rediss://cache:6380"), junk))
        .hasMessageContaining("--redis-ca-cert " + junk + " is not a PEM certificate file");
    assertThatThrownBy(() -> RedisOptions.of(RedisUrl.parse("rediss://cache:6380"), dir.resolve("none.pem")))
        .hasMessageContaining("cannot be read");
  }

  @Test
  void credentialsAndTlsGoToTheClientAndTheProbeAlike() {
    RedisOptions redis = RedisOptions.of(RedisUrl.parse("rediss://app:s3cret@cache:6380"), null);
    var config = redis.redisson(Duration.ofSeconds(10));
    assertThat(config.getUsername()).isEqualTo("app");
    assertThat(config.getPassword()).isEqualTo("s3cret");
    assertThat(config.getSslVerificationMode()).isEqualTo(SslVerificationMode.STRICT);
    assertThat(config.useSingleServer().getAddress()).isEqualTo("rediss://cache:6380");
    var probe = redis.probe(Duration.ofSeconds(5));
    assertThat(probe.getPassword()).isEqualTo("s3cret");
    assertThat(probe.getSslVerificationMode()).isEqualTo(SslVerificationMode.STRICT);
  }
}
