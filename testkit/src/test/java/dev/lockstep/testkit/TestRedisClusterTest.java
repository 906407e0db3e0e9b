package dev.lockstep.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cluster shares its slots over three nodes, each refusing a key it does not serve, and leaves no process behind. */
class TestRedisClusterTest {

  @Test
  void threeNodesServeTheirOwnSlots(@TempDir Path dir) {
    List<Integer> ports;
    try (TestRedisCluster cluster = TestRedisCluster.start(dir)) {
      ports = cluster.ports();
      assertThat(cluster.url()).startsWith("redis-cluster://127.0.0.1:");
      int owner = cluster.portOf("lockstep:lock:app");
      assertThat(Resp.call("127.0.0.1", owner, "SET", "lockstep:lock:app", "x")).isEqualTo("OK");
      int other = ports.stream().filter(p -> p != owner).findFirst().orElseThrow();
      assertThatThrownBy(() -> Resp.call("127.0.0.1", other, "GET", "lockstep:lock:app")).hasMessageContaining("MOVED");
    }
    for (int port : ports) {
      assertThat(Resp.answers(port)).as("port %d after close", port).isFalse();
    }
  }
}
