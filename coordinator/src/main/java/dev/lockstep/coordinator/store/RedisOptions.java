package dev.lockstep.coordinator.store;

import dev.lockstep.coordinator.config.RedisUrl;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Collection;
import javax.net.ssl.TrustManagerFactory;
import org.redisson.client.RedisClientConfig;
import org.redisson.config.BaseMasterSlaveServersConfig;
import org.redisson.config.Config;
import org.redisson.config.ReadMode;
import org.redisson.config.SslVerificationMode;
import org.redisson.config.SubscriptionMode;

/**
 * The one place a {@link RedisUrl} (and the optional {@code --redis-ca-cert}) becomes Redisson's
 * settings, for the coordinator's client and for start-up's probe ({@link RedisProbe}) alike, so both reach Redis the
 * same way: one server, a Sentinel set or a Cluster as the URL says; credentials apart from the address (Redisson
 * prints its address in its errors), and for
 * {@code rediss://} TLS that checks the server's certificate and host name ({@link SslVerificationMode#STRICT})
 * against the JDK's trusted CAs, or against the PEM file given instead.
 *
 * <pre>{@code RedisOptions redis = RedisOptions.of(RedisUrl.parse("rediss://app:pw@cache:6380"), Path.of("/etc/redis-ca.pem"));
 * RedissonClient client = Redisson.create(redis.redisson(Duration.ofSeconds(10)));}</pre>
 */
public final class RedisOptions {
  private final RedisUrl url;
  private final TrustManagerFactory trust;

  private RedisOptions(RedisUrl url, TrustManagerFactory trust) {
    this.url = url;
    this.trust = trust;
  }

  /**
   * @param caCert a PEM file of the CAs to trust for {@code rediss://}; null for the JDK's own
   * @throws IllegalArgumentException if the file cannot be read as PEM certificates, or is given for a {@code redis://} URL
   */
  public static RedisOptions of(RedisUrl url, Path caCert) {
    if (caCert == null) {
      return new RedisOptions(url, null);
    }
    if (!url.tls()) {
      throw new IllegalArgumentException("--redis-ca-cert " + caCert + " is given, but --redis-url " + url
          + " is not TLS; use rediss:// or drop --redis-ca-cert");
    }
    return new RedisOptions(url, trustManagers(caCert));
  }

  public RedisUrl url() {
    return url;
  }

  /**
   * The coordinator's Redisson client settings: one server, a Sentinel set (the primary found by its name) or a
   * Cluster (learnt from the nodes listed). In the last two every read and every subscription goes to the primary
   * (Redisson's default reads replicas): a replica lags, and the registry is read right after it is written.
   */
  public Config redisson(Duration lockLease) {
    Config config = new Config();
    config.setNettyThreads(4).setThreads(2);
    // A coordinator that dies keeps the service's lock this long; PostgreSQL's fence, not this, is what keeps releases safe.
    config.setLockWatchdogTimeout(lockLease.toMillis());
    // Redisson's default WAITs for a replica after each lock command and fails it when none acknowledges. Right after a
    // Sentinel failover the sentinels still list the old primary as a replica for 10-15 s, so the holder's renewals
    // failed ("None of slaves were synced") and its lock lapsed (matrix: SENTINEL FAILOVER @ MIGRATING). The lock only
    // avoids duplicate work; the fence in PostgreSQL keeps releases safe, so availability wins here.
    config.setCheckLockSyncedSlaves(false);
    config.setUsername(url.username()).setPassword(url.password());
    if (url.tls()) {
      config.setSslVerificationMode(SslVerificationMode.STRICT);
      if (trust != null) {
        config.setSslTrustManagerFactory(trust);
      }
    }
    switch (url.kind()) {
      case SINGLE -> config.useSingleServer()
          .setAddress(url.address())
          .setConnectionMinimumIdleSize(2)
          .setConnectionPoolSize(8)
          .setSubscriptionConnectionMinimumIdleSize(1);
      case SENTINEL -> primaryOnly(config.useSentinelServers()
          .setMasterName(url.masterName())
          .setDatabase(url.database())
          .addSentinelAddress(url.addresses().toArray(String[]::new)));
      case CLUSTER -> primaryOnly(config.useClusterServers()
          .addNodeAddress(url.addresses().toArray(String[]::new)));
    }
    return config;
  }

  private static void primaryOnly(BaseMasterSlaveServersConfig<?> servers) {
    servers.setReadMode(ReadMode.MASTER)
        .setSubscriptionMode(SubscriptionMode.MASTER)
        .setMasterConnectionMinimumIdleSize(2)
        .setMasterConnectionPoolSize(8)
        .setSlaveConnectionMinimumIdleSize(0)
        .setSubscriptionConnectionMinimumIdleSize(1);
  }

  /** Settings for one bare connection (start-up's PING), with the same credentials and TLS as {@link #redisson}. */
  public RedisClientConfig probe(Duration timeout) {
    return probe(url.address(), timeout, true);
  }

  /**
   * As above, to {@code address} (a sentinel, a cluster node, the primary a sentinel named), with the URL's credentials
   * or without them (sentinels are asked without, as Redisson asks them).
   */
  RedisClientConfig probe(String address, Duration timeout, boolean credentials) {
    RedisClientConfig config = new RedisClientConfig().setAddress(address)
        .setConnectTimeout((int) timeout.toMillis()).setCommandTimeout((int) timeout.toMillis());
    if (credentials) {
      config.setUsername(url.username()).setPassword(url.password());
    }
    if (url.tls()) {
      config.setSslVerificationMode(SslVerificationMode.STRICT);
      if (trust != null) {
        config.setSslTrustManagerFactory(trust);
      }
    }
    return config;
  }

  private static TrustManagerFactory trustManagers(Path pem) {
    try (InputStream in = Files.newInputStream(pem)) {
      Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (certs.isEmpty()) {
        throw new IllegalArgumentException("--redis-ca-cert " + pem + " holds no PEM certificate");
      }
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int n = 0;
      for (Certificate cert : certs) {
        store.setCertificateEntry("ca-" + n++, cert);
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      return factory;
    } catch (IOException e) {
      throw new IllegalArgumentException("--redis-ca-cert " + pem + " cannot be read: " + e.getMessage());
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("--redis-ca-cert " + pem + " is not a PEM certificate file: " + e.getMessage());
    }
  }
}
