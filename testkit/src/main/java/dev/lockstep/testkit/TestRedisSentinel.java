package dev.lockstep.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A real Redis Sentinel set of a test's own on free loopback ports: a primary, a replica ({@code --replicaof}) and three
 * sentinels ({@code redis-server sentinel.conf --sentinel}, quorum 2, {@code down-after-milliseconds 1000},
 * {@code failover-timeout 5000}), nothing kept on disk but the sentinels' own files, all child processes of the test
 * JVM (killed by {@link #close()}, or by a shutdown hook if the test never gets there). It starts in about 2 s.
 *
 * <pre>{@code try (TestRedisSentinel redis = TestRedisSentinel.start(dir)) {
 *   String url = redis.url();   // redis-sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3#lockstep
 *   redis.failover();           // SENTINEL FAILOVER: the replica is the primary now
 *   redis.killPrimary();        // kill -9 of the primary; returns once the sentinels promoted the replica
 * }}</pre>
 *
 * <p>Needs {@code redis-server} on the PATH (Debian: {@code apt-get install -y redis-server redis-sentinel}).
 */
public final class TestRedisSentinel implements AutoCloseable {
  /** The name the sentinels monitor the primary by. */
  public static final String MASTER_NAME = "lockstep";
  private static final Duration PROMOTION = Duration.ofSeconds(30);

  private final Path dir;
  private final List<RedisNode> data = new ArrayList<>();
  private final List<RedisNode> sentinels = new ArrayList<>();

  private TestRedisSentinel(Path dir) {
    this.dir = dir;
  }

  /** Starts the primary, its replica and three sentinels, and returns once every sentinel knows the replica. */
  public static TestRedisSentinel start(Path dir) {
    RedisNode.require("redis-server");
    TestRedisSentinel set = new TestRedisSentinel(dir);
    try {
      Files.createDirectories(dir);
      int primary = RedisNode.freePort(0);
      set.data.add(RedisNode.start(primary, dir, dataArgs(primary, dir, null)));
      int replica = RedisNode.freePort(0);
      set.data.add(RedisNode.start(replica, dir, dataArgs(replica, dir, primary)));
      for (int i = 0; i < 3; i++) {
        int port = RedisNode.freePort(0);
        Path conf = dir.resolve("sentinel-" + port + ".conf");
        Files.writeString(conf, String.join("\n",
            "port " + port,
            "bind 127.0.0.1",
            "dir " + dir,
            "sentinel monitor " + MASTER_NAME + " 127.0.0.1 " + primary + " 2",
            "sentinel down-after-milliseconds " + MASTER_NAME + " 1000",
            "sentinel failover-timeout " + MASTER_NAME + " 5000",
            "sentinel parallel-syncs " + MASTER_NAME + " 1", ""));
        set.sentinels.add(RedisNode.start(port, dir, List.of(conf.toString(), "--sentinel")));
      }
      RedisNode.await("three sentinels seeing the replica on port " + replica + " and each other", PROMOTION, set::settled);
      return set;
    } catch (IOException e) {
      set.close();
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      set.close();
      throw e;
    }
  }

  private static List<String> dataArgs(int port, Path dir, Integer replicaOf) {
    List<String> args = new ArrayList<>(List.of("--port", Integer.toString(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", dir.toString()));
    if (replicaOf != null) {
      args.addAll(List.of("--replicaof", "127.0.0.1", Integer.toString(replicaOf)));
    }
    return args;
  }

  /** {@code redis-sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3#lockstep}: what {@code --redis-url} takes. */
  public String url() {
    return "redis-sentinel://" + sentinels.stream().map(s -> "127.0.0.1:" + s.port).collect(Collectors.joining(","))
        + "#" + MASTER_NAME;
  }

  /** {@code redis://127.0.0.1:P} of the primary the sentinels name now, for reading keys directly. */
  public String primaryUrl() {
    return "redis://127.0.0.1:" + primaryPort();
  }

  /** The port of the primary the first answering sentinel names. */
  public int primaryPort() {
    for (RedisNode s : sentinels) {
      Integer port = primaryPortSeenBy(s);
      if (port != null) {
        return port;
      }
    }
    throw new IllegalStateException("no sentinel answers for " + MASTER_NAME + "; see the logs in " + dir);
  }

  /**
   * {@code SENTINEL FAILOVER}: returns once the replica is the primary and every sentinel says so. The old primary is
   * not a replica yet: Redis 7.0's sentinels turn it into one only some 10–15 s later, and until then it still takes
   * writes from clients that have not moved ({@link #awaitHealthy()} waits for that).
   */
  public void failover() {
    awaitHealthy();
    int before = primaryPort();
    // A replica that just came back (restartKilled) is "no good" to the sentinels until they have pinged it and read
    // its INFO as a replica again: asked before that, SENTINEL FAILOVER answers NOGOODSLAVE. Ask again until it takes.
    long deadline = System.nanoTime() + PROMOTION.toNanos();
    while (true) {
      try {
        Resp.call("127.0.0.1", sentinels.get(0).port, "SENTINEL", "FAILOVER", MASTER_NAME);
        break;
      } catch (IllegalStateException e) {
        if (!String.valueOf(e.getMessage()).contains("NOGOODSLAVE") || System.nanoTime() > deadline) {
          throw e;
        }
        try {
          Thread.sleep(100);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(interrupted);
        }
      }
    }
    awaitNewPrimary(before);
  }

  /**
   * kill -9 of the primary: returns once the sentinels promoted the replica (down after 1 s, then elected). The killed
   * node stays down until {@link #restartKilled()}.
   */
  public void killPrimary() {
    awaitHealthy();
    int before = primaryPort();
    node(before).kill9();
    awaitNewPrimary(before);
  }

  /** Starts every killed data node again, as a replica of the current primary (a supervisor restarting it). */
  public void restartKilled() {
    int primary = primaryPort();
    for (RedisNode n : data) {
      if (!n.alive()) {
        n.start(dataArgs(n.port, dir, primary));
      }
    }
    RedisNode.await("the restarted node replicating the primary on port " + primary, PROMOTION, this::settled);
  }

  /**
   * SIGSTOP of the primary: returns once the sentinels promoted the replica. The paused node still holds its clients'
   * connections, answering nothing, until {@link #resumePaused()}.
   */
  public void pausePrimary() {
    awaitHealthy();
    int before = primaryPort();
    node(before).pause();
    awaitNewPrimary(before);
  }

  /**
   * SIGCONT of a paused node: it wakes up believing it is the primary, and returns once the sentinels made it a replica
   * (about 15 s here: they wait a few of their announcement periods before they reconfigure it).
   */
  public void resumePaused() {
    int primary = primaryPort();
    data.stream().filter(n -> n.port != primary).forEach(RedisNode::resume);
    RedisNode.await("the resumed node turned into a replica of port " + primary, PROMOTION, this::settled);
  }

  /**
   * Waits until the set is whole again: the sentinels agree on the primary, and every live data node replicates it (each
   * fault above starts with this, so it strikes a primary whose replica is in step).
   */
  public void awaitHealthy() {
    RedisNode.await("every sentinel naming one primary and every live data node replicating it", PROMOTION, this::settled);
  }

  /** Kills every process of the set (the sentinels first, so none fails over a primary stopped under it). */
  @Override
  public void close() {
    sentinels.forEach(RedisNode::stop);
    data.forEach(RedisNode::stop);
  }

  private void awaitNewPrimary(int before) {
    RedisNode.await("the sentinels promoting a new primary in place of port " + before, PROMOTION, () -> {
      Integer seen = primaryPortSeenByAll();
      return seen != null && seen != before && "master".equals(node(seen).role());
    });
  }

  /** Every sentinel names one primary, it says it is one, and every other live data node replicates it. */
  private boolean settled() {
    Integer primary = primaryPortSeenByAll();
    if (primary == null || !"master".equals(node(primary).role())) {
      return false;
    }
    for (RedisNode n : data) {
      if (n.port != primary && n.alive() && !replicates(n, primary)) {
        return false;
      }
    }
    // Each sentinel must know the replica and the other two, or a failover right now would find nobody to promote.
    for (RedisNode s : sentinels) {
      try {
        Object replicas = Resp.call("127.0.0.1", s.port, "SENTINEL", "REPLICAS", MASTER_NAME);
        Object others = Resp.call("127.0.0.1", s.port, "SENTINEL", "SENTINELS", MASTER_NAME);
        long live = data.stream().filter(RedisNode::alive).count();
        if (!(replicas instanceof List<?> r && r.size() >= live - 1 && others instanceof List<?> o && o.size() == sentinels.size() - 1)) {
          return false;
        }
      } catch (RuntimeException e) {
        return false;
      }
    }
    return true;
  }

  private static boolean replicates(RedisNode n, int primary) {
    try {
      return Resp.call("127.0.0.1", n.port, "ROLE") instanceof List<?> role && role.size() >= 4
          && "slave".equals(role.get(0)) && Objects.equals(String.valueOf(primary), String.valueOf(role.get(2)))
          && "connected".equals(role.get(3));
    } catch (RuntimeException e) {
      return false;
    }
  }

  private Integer primaryPortSeenByAll() {
    Integer seen = null;
    for (RedisNode s : sentinels) {
      Integer port = primaryPortSeenBy(s);
      if (port == null || (seen != null && !seen.equals(port))) {
        return null;
      }
      seen = port;
    }
    return seen;
  }

  private static Integer primaryPortSeenBy(RedisNode sentinel) {
    try {
      return Resp.call("127.0.0.1", sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME) instanceof List<?> addr
          && addr.size() == 2 ? Integer.valueOf(String.valueOf(addr.get(1))) : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  private RedisNode node(int port) {
    return data.stream().filter(n -> n.port == port).findFirst()
        .orElseThrow(() -> new IllegalStateException("no data node of this set on port " + port));
  }
}
