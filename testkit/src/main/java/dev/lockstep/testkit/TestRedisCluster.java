package dev.lockstep.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A real Redis Cluster of a test's own: three primaries on free loopback ports ({@code cluster-enabled yes}, no
 * replicas, nothing kept on disk but each node's {@code nodes-<port>.conf}), the slots shared out by
 * {@code redis-cli --cluster create … --cluster-yes}. Child processes of the test JVM, killed by {@link #close()} or
 * by a shutdown hook.
 *
 * <pre>{@code try (TestRedisCluster cluster = TestRedisCluster.start(dir)) {
 *   String url = cluster.url(); // redis-cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
 * }}</pre>
 *
 * <p>Needs {@code redis-server} and {@code redis-cli} on the PATH (Debian: {@code apt-get install -y redis-server
 * redis-tools}).
 */
public final class TestRedisCluster implements AutoCloseable {
  /** A node's cluster bus listens on its port plus this. */
  private static final int BUS_OFFSET = 10000;

  private final Path dir;
  private final List<RedisNode> nodes = new ArrayList<>();

  private TestRedisCluster(Path dir) {
    this.dir = dir;
  }

  /** Starts three nodes, creates the cluster and returns once every node says {@code cluster_state:ok}. */
  public static TestRedisCluster start(Path dir) {
    RedisNode.require("redis-server");
    RedisNode.require("redis-cli");
    TestRedisCluster cluster = new TestRedisCluster(dir);
    try {
      Files.createDirectories(dir);
      for (int i = 0; i < 3; i++) {
        int port = RedisNode.freePort(BUS_OFFSET);
        cluster.nodes.add(RedisNode.start(port, dir, List.of("--port", Integer.toString(port), "--bind", "127.0.0.1",
            "--cluster-enabled", "yes", "--cluster-config-file", dir.resolve("nodes-" + port + ".conf").toString(),
            "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no", "--dir", dir.toString())));
      }
      List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
      cluster.nodes.forEach(n -> create.add("127.0.0.1:" + n.port));
      create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
      run(create, dir.resolve("cluster-create.log"));
      RedisNode.await("every node of the cluster saying cluster_state:ok", Duration.ofSeconds(30), cluster::ok);
      return cluster;
    } catch (IOException e) {
      cluster.close();
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  /** {@code redis-cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3}: what {@code --redis-url} takes. */
  public String url() {
    return "redis-cluster://" + nodes.stream().map(n -> "127.0.0.1:" + n.port).collect(Collectors.joining(","));
  }

  /** The nodes' ports, in the order of {@link #url()}. */
  public List<Integer> ports() {
    return nodes.stream().map(n -> n.port).toList();
  }

  /** The port of the node that serves {@code key}'s slot ({@code CLUSTER KEYSLOT}, {@code CLUSTER SLOTS}). */
  public int portOf(String key) {
    long slot = (Long) Resp.call("127.0.0.1", nodes.get(0).port, "CLUSTER", "KEYSLOT", key);
    for (Object range : (List<?>) Resp.call("127.0.0.1", nodes.get(0).port, "CLUSTER", "SLOTS")) {
      List<?> r = (List<?>) range;
      if ((Long) r.get(0) <= slot && slot <= (Long) r.get(1)) {
        return ((Long) ((List<?>) r.get(2)).get(1)).intValue();
      }
    }
    throw new IllegalStateException("no node serves slot " + slot + " of key " + key);
  }

  @Override
  public void close() {
    nodes.forEach(RedisNode::stop);
  }

  private boolean ok() {
    for (RedisNode n : nodes) {
      try {
        if (!String.valueOf(Resp.call("127.0.0.1", n.port, "CLUSTER", "INFO")).contains("cluster_state:ok")) {
          return false;
        }
      } catch (RuntimeException e) {
        return false;
      }
    }
    return true;
  }

  private static void run(List<String> command, Path log) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " failed:\n" + Files.readString(log, StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
