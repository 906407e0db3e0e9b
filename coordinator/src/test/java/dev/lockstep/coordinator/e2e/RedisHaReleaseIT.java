package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import dev.lockstep.testkit.TestRedisCluster;
import dev.lockstep.testkit.TestRedisSentinel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Releases with Redis in its HA forms (DESIGN.md, <i>Past one machine</i>), as real processes: a primary coordinator and
 * a standby on a {@code redis-sentinel://} URL, and on a {@code redis-cluster://} one, with real agents given both
 * coordinators' URLs. A release completes through each; through Sentinel the coordinators live through the primary
 * moving between releases (SENTINEL FAILOVER, then kill -9 of the primary) and the next release completes each time.
 */
class RedisHaReleaseIT {
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private TestDatabase db;
  private Fleet fleet;

  @AfterEach
  void stop() throws Exception {
    if (fleet != null) {
      fleet.close();
    }
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
    if (db != null) {
      db.close();
    }
  }

  @Test
  void releasesCompleteThroughSentinelAndTheCoordinatorsLiveThroughTheRedisPrimaryMoving() throws Exception {
    db = TestPostgres.instance().createDatabase("RedisHaReleaseIT_sentinel");
    Path dir = Path.of("target", "e2e", "RedisHaReleaseIT-sentinel").toAbsolutePath();
    TestRedisSentinel redis = TestRedisSentinel.start(dir.resolve("redis"));
    cleanup.add(redis);
    fleet = new Fleet("RedisHaReleaseIT-sentinel", db, redis.url(), redis::primaryUrl);
    Path migrations = twoCoordinatorsAndAgents();
    assertThat(Files.readString(fleet.coordinators().get(0).log())).doesNotContain("configuration error");

    release("v1");
    assertThat(keyOfTheFleet(redis.primaryUrl())).as("the registry is in the primary the sentinels name").isEqualTo(1L);

    // The kill first: after a SENTINEL FAILOVER the old primary re-attaches as a replica only 10-15 s later, and a kill
    // waits for a replica in step; a killed and restarted node is one at once.
    int before = redis.primaryPort();
    long killed = System.nanoTime();
    redis.killPrimary();
    System.out.printf("RedisHaReleaseIT: kill -9 of the Redis primary %d; the sentinels promoted %d after %.1f s%n", before,
        redis.primaryPort(), (System.nanoTime() - killed) / 1e9);
    // Reports failed while Redis had no primary; an agent silent past --lost-after (3 s here) is lost until its next
    // report lands, and a release refuses to start with a lost agent. The operator waits for the fleet, as here.
    java.time.Instant promoted = java.time.Instant.now();
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() ->
        fleet.agentList().stream().filter(a -> java.time.Instant.parse(a.lastSeen()).isAfter(promoted)).count() == 2);
    System.out.printf("RedisHaReleaseIT: both agents' reports land again %.1f s after the kill%n",
        (System.nanoTime() - killed) / 1e9);
    addMigration(migrations, "V3__add_orders_note.sql", "ALTER TABLE orders ADD COLUMN note text;\n");
    release("v2");
    assertThat(keyOfTheFleet(redis.primaryUrl())).as("the registry is written to the new primary").isEqualTo(1L);

    redis.restartKilled(); // the killed node comes back as a replica of the new primary
    before = redis.primaryPort();
    redis.failover();
    System.out.printf("RedisHaReleaseIT: SENTINEL FAILOVER moved the Redis primary %d -> %d%n", before, redis.primaryPort());
    addMigration(migrations, "V4__add_user_note.sql", "ALTER TABLE \"user\" ADD COLUMN note text;\n");
    release("v3");
    assertThat(keyOfTheFleet(redis.primaryUrl())).as("the registry is in the primary after the failover").isEqualTo(1L);

    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE success")).isEqualTo(4);
    assertThat(db.queryLong("SELECT count(DISTINCT version) FROM flyway_schema_history")).isEqualTo(4);
    for (Fleet.Coordinator c : fleet.coordinators()) {
      assertThat(c.alive()).as(c + " still running").isTrue();
    }
  }

  @Test
  void aReleaseCompletesThroughCluster() throws Exception {
    db = TestPostgres.instance().createDatabase("RedisHaReleaseIT_cluster");
    Path dir = Path.of("target", "e2e", "RedisHaReleaseIT-cluster").toAbsolutePath();
    TestRedisCluster cluster = TestRedisCluster.start(dir.resolve("redis"));
    cleanup.add(cluster);
    String registry = "lockstep:agents:";
    fleet = new Fleet("RedisHaReleaseIT-cluster", db, cluster.url(), () -> "redis://127.0.0.1:" + cluster.portOf(registry + fleet.service));
    Path migrations = twoCoordinatorsAndAgents();

    release("v1");
    int lockNode = cluster.portOf("lockstep:lock:" + fleet.service);
    int registryNode = cluster.portOf(registry + fleet.service);
    System.out.printf("RedisHaReleaseIT: in the cluster the service's lock is on node %d, its registry on node %d%n", lockNode,
        registryNode);
    assertThat(keyOfTheFleet("redis://127.0.0.1:" + registryNode)).isEqualTo(1L);
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE success")).isEqualTo(2);
  }

  @Test
  void aRedisUrlThatNamesTheWrongThingEndsTheCoordinatorWithOneLine() throws Exception {
    db = TestPostgres.instance().createDatabase("RedisHaReleaseIT_wrong");
    fleet = new Fleet("RedisHaReleaseIT-wrong", db);
    java.net.URI shared = java.net.URI.create(dev.lockstep.testkit.TestRedis.url());
    String plain = shared.getHost() + ":" + shared.getPort();

    // The shared Redis is a server, not a sentinel: the probe says so, and start-up does not retry.
    assertThat(fleet.exitStatusAgainst(db.postgresUrl(), "redis-sentinel://" + plain + "#lockstep", "not-a-sentinel.log",
        Duration.ofSeconds(30))).isEqualTo(2);
    assertThat(fleet.configurationError("not-a-sentinel.log")).contains("Redis at redis-sentinel://" + plain + "#lockstep")
        .contains(plain + " is a Redis server, not a sentinel").contains("list the sentinels (usually port 26379)");

    // Malformed: refused before anything is reached, the password nowhere in the log.
    assertThat(fleet.exitStatusAgainst(db.postgresUrl(), "redis-sentinel://:hunter2-secret@" + plain, "no-master.log",
        Duration.ofSeconds(30))).isEqualTo(2);
    assertThat(Files.readString(fleet.dir.resolve("no-master.log"))).contains("names no master: end it with #NAME")
        .doesNotContain("hunter2-secret");
  }

  /** A primary and a standby coordinator on the fleet's Redis, and two agents given both URLs; returns the migrations. */
  private Path twoCoordinatorsAndAgents() {
    Path migrations = fleet.migrations("story");
    fleet.startCoordinator(migrations);
    Fleet.Standby standby = fleet.startStandbyCoordinator("standby.log");
    fleet.agentsUse(fleet.url(), standby.url());
    fleet.startAgent("h-1", "v0", migrations);
    fleet.startAgent("h-2", "v0", migrations);
    fleet.awaitAgents("h-1", "h-2");
    return migrations;
  }

  private void release(String revision) {
    long started = System.nanoTime();
    ReleaseDocument created = fleet.api().post("/v1/releases", ReleaseRequest.of(revision, null), ReleaseDocument.class);
    ReleaseDocument end = await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(
        () -> fleet.api().get("/v1/releases/" + created.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    System.out.printf("RedisHaReleaseIT: release to %s %s in %.1f s%n", revision, end.phase(), (System.nanoTime() - started) / 1e9);
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.COMPLETED);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(fleet.deployedRevision("h-1")).isEqualTo(revision));
    assertThat(fleet.deployedRevision("h-2")).isEqualTo(revision);
  }

  /** The next build's set: one more migration in the folder the coordinators read and the agents stage. */
  private static void addMigration(Path folder, String name, String sql) throws IOException {
    Files.writeString(folder.resolve(name), sql);
  }

  private Object keyOfTheFleet(String url) {
    return RedisServer.call(url, "HEXISTS", "lockstep:agents:" + fleet.service, "h-1");
  }

}
