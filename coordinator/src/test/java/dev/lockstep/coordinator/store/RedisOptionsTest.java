package dev.lockstep.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.config.RedisUrl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redisson.config.ReadMode;
import org.redisson.config.SslVerificationMode;
import org.redisson.config.SubscriptionMode;

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

  @Test
  void aSentinelUrlFindsThePrimaryByNameAndReadsOnlyFromIt() {
    var config = RedisOptions.of(RedisUrl.parse("redis-sentinel://:s3cret@s1:26379,s2:26380/3#orders"), null)
        .redisson(Duration.ofSeconds(10));
    var sentinel = config.useSentinelServers();
    assertThat(sentinel.getMasterName()).isEqualTo("orders");
    assertThat(sentinel.getDatabase()).isEqualTo(3);
    assertThat(sentinel.getSentinelAddresses()).containsExactly("redis://s1:26379", "redis://s2:26380");
    assertThat(sentinel.getReadMode()).isEqualTo(ReadMode.MASTER);
    assertThat(sentinel.getSubscriptionMode()).isEqualTo(SubscriptionMode.MASTER);
    assertThat(config.getPassword()).isEqualTo("s3cret");
    assertThat(config.isCheckLockSyncedSlaves()).as("lock commands do not wait for a replica").isFalse();
  }

  @Test
  void aClusterUrlGivesTheNodesToLearnTheClusterFrom() {
    var config = RedisOptions.of(RedisUrl.parse("redis-cluster://h1:7000,h2:7001"), null).redisson(Duration.ofSeconds(10));
    var cluster = config.useClusterServers();
    assertThat(cluster.getNodeAddresses()).containsExactly("redis://h1:7000", "redis://h2:7001");
    assertThat(cluster.getReadMode()).isEqualTo(ReadMode.MASTER);
    assertThat(config.getPassword()).isNull();
  }
}
