package dev.lockstep.coordinator.store;

import dev.lockstep.coordinator.config.RedisUrl;
import io.netty.resolver.DefaultAddressResolverGroup;
import java.time.Duration;
import java.util.Map;
import org.redisson.client.RedisAuthRequiredException;
import org.redisson.client.RedisClient;
import org.redisson.client.RedisClientConfig;
import org.redisson.client.RedisConnection;
import org.redisson.client.RedisException;
import org.redisson.client.codec.StringCodec;
import org.redisson.client.protocol.RedisCommands;

/**
 * Start-up's quick question to Redis, before Redisson (whose own creation retries for seconds before it gives up):
 * is it there, and is it what {@code --redis-url} says it is? One server answers PING. For Sentinel, each sentinel in
 * turn is asked where the primary of the URL's name is (without credentials, then with them if it asks), and that
 * primary answers PING. For Cluster, the nodes in turn until one answers PING and says the cluster is {@code ok}.
 * An answer that shows the URL is wrong (not a sentinel, no such master name, not a cluster node) throws
 * {@link RedisMisconfigured}, which start-up does not retry; an outage throws what the client threw.
 *
 * <pre>{@code RedisProbe.check(RedisOptions.of(RedisUrl.parse("redis-sentinel://s1,s2#orders"), null), Duration.ofSeconds(5));}</pre>
 */
final class RedisProbe {

  /** An answer that shows {@code --redis-url} names the wrong thing; {@link #fix()} says what to change. */
  static final class RedisMisconfigured extends RuntimeException {
    private final String fix;

    RedisMisconfigured(String cause, String fix) {
      super(cause);
      this.fix = fix;
    }

    String fix() {
      return fix;
    }
  }

  private RedisProbe() {}

  static void check(RedisOptions redis, Duration timeout) {
    RedisUrl url = redis.url();
    switch (url.kind()) {
      case SINGLE -> ping(redis.probe(timeout));
      case SENTINEL -> ping(redis.probe(primaryOf(redis, timeout), timeout, true).setDatabase(url.database()));
      case CLUSTER -> clusterAnswers(redis, timeout);
    }
  }

  /** {@code redis://ip:port} of the primary the first sentinel that answers names. */
  private static String primaryOf(RedisOptions redis, Duration timeout) {
    RedisUrl url = redis.url();
    RuntimeException last = null;
    for (String sentinel : url.addresses()) {
      try {
        Map<String, String> master = askSentinel(redis, sentinel, timeout);
        return "redis://" + master.get("ip") + ":" + master.get("port");
      } catch (RedisMisconfigured e) {
        throw e;
      } catch (RuntimeException e) {
        last = e; // this sentinel is out of reach: the next one may answer
      }
    }
    throw last;
  }

  private static Map<String, String> askSentinel(RedisOptions redis, String sentinel, Duration timeout) {
    String name = redis.url().masterName();
    try {
      return sentinelMaster(redis.probe(sentinel, timeout, false), name);
    } catch (RedisAuthRequiredException e) {
      return sentinelMaster(redis.probe(sentinel, timeout, true), name);
    } catch (RedisException e) {
      String message = e.getMessage() == null ? "" : e.getMessage();
      if (message.contains("No such master")) {
        throw new RedisMisconfigured("the sentinel at " + hostPort(sentinel) + " monitors no master named '" + name + "'",
            "check the name after # in --redis-url; `redis-cli -p PORT SENTINEL MASTERS` on a sentinel lists the names it"
                + " monitors");
      }
      if (message.contains("unknown command") || message.contains("unknown subcommand")) {
        throw new RedisMisconfigured(hostPort(sentinel) + " is a Redis server, not a sentinel",
            "list the sentinels (usually port 26379) in redis-sentinel://, or use redis://" + hostPort(sentinel)
                + " for one server");
      }
      throw e;
    }
  }

  private static Map<String, String> sentinelMaster(RedisClientConfig config, String name) {
    return withConnection(config, c -> c.sync(StringCodec.INSTANCE, RedisCommands.SENTINEL_MASTER, name));
  }

  private static void clusterAnswers(RedisOptions redis, Duration timeout) {
    RuntimeException last = null;
    for (String node : redis.url().addresses()) {
      try {
        Map<String, String> info = withConnection(redis.probe(node, timeout, true), c -> {
          c.sync(RedisCommands.PING);
          return c.sync(StringCodec.INSTANCE, RedisCommands.CLUSTER_INFO);
        });
        if ("ok".equals(info.get("cluster_state"))) {
          return;
        }
        // Still forming, or has lost slots: an outage to wait out, not a wrong URL.
        last = new RedisException("the cluster node at " + hostPort(node) + " says cluster_state:" + info.get("cluster_state"));
      } catch (RedisException e) {
        String message = e.getMessage() == null ? "" : e.getMessage();
        if (message.contains("cluster support disabled")) {
          throw new RedisMisconfigured(hostPort(node) + " is a Redis server without cluster support, not a cluster node",
              "use redis://" + hostPort(node) + " for one server, or list the cluster's nodes in redis-cluster://");
        }
        last = e;
      } catch (RuntimeException e) {
        last = e;
      }
    }
    throw last;
  }

  private static void ping(RedisClientConfig config) {
    withConnection(config, c -> c.sync(RedisCommands.PING));
  }

  private static <T> T withConnection(RedisClientConfig config, java.util.function.Function<RedisConnection, T> work) {
    // A resolver of our own, or RedisClient looks for netty's epoll classes, which the jar leaves out.
    RedisClient client = RedisClient.create(config.setResolverGroup(DefaultAddressResolverGroup.INSTANCE));
    try {
      return work.apply(client.connect());
    } finally {
      client.shutdown();
    }
  }

  private static String hostPort(String address) {
    return address.substring(address.indexOf("://") + 3);
  }
}
