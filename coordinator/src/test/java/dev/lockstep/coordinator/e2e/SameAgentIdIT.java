package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.coordinator.cli.CliException;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two services, each with a coordinator and one agent process called {@code web-1} (one host name,
 * two services), sharing one Redis: both agents stay listed, each under its own service, and a
 * release of one service waits for its own {@code web-1} and leaves the other alone.
 */
class SameAgentIdIT {
  private static TestDatabase shopDb;
  private static TestDatabase blogDb;
  private static Fleet shop;
  private static Fleet blog;

  @BeforeAll
  static void start() {
    shopDb = TestPostgres.instance().createDatabase("SameAgentIdIT_shop");
    blogDb = TestPostgres.instance().createDatabase("SameAgentIdIT_blog");
    shop = new Fleet("SameAgentIdIT-shop", shopDb);
    blog = new Fleet("SameAgentIdIT-blog", blogDb);
    Path shopMigrations = shop.migrations("story");
    Path blogMigrations = blog.migrations("story");
    shop.startCoordinator(shopMigrations);
    blog.startCoordinator(blogMigrations);
    shop.startAgent("web-1", "v1", shopMigrations);
    blog.startAgent("web-1", "v1", blogMigrations);
    shop.awaitAgents("web-1");
    blog.awaitAgents("web-1");
  }

  @AfterAll
  static void stop() {
    shop.close();
    blog.close();
    shopDb.close();
    blogDb.close();
  }

  @Test
  void bothAgentsCalledWeb1AreListedAndAReleaseWaitsForItsOwn() throws Exception {
    // Several reads, each right after one of the agents reported again (each reports every 500 ms): with one hash keyed
    // by id, the last reporter wins and the other vanishes.
    String heard = null;
    for (int i = 0; i < 6; i++) {
      String before = heard;
      heard = await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
          .until(SameAgentIdIT::lastSeenOfBoth, now -> !now.equals(before));
      assertThat(shop.agentList()).extracting(AgentStatus::id, AgentStatus::service)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("web-1", shop.service));
      assertThat(blog.agentList()).extracting(AgentStatus::id, AgentStatus::service)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("web-1", blog.service));
    }

    // Without ?service= the id is ambiguous: a 409 that names both services and says what to pass.
    CliException ambiguous = org.assertj.core.api.Assertions.catchThrowableOfType(CliException.class,
        () -> shop.api().get("/v1/agents/web-1", AgentStatus.class));
    assertThat(ambiguous.getMessage()).contains("registered in").contains(shop.service).contains(blog.service).contains("?service=");
    assertThat(shop.api().get("/v1/agents/web-1?service=" + blog.service, AgentStatus.class).service()).isEqualTo(blog.service);

    Fleet.CliRun agents = shop.cli("agents");
    assertThat(agents.out()).containsPattern("web-1\\s+" + shop.service).containsPattern("web-1\\s+" + blog.service);

    Fleet.CliRun release = shop.cli("release", "--revision", "v2", "--json");
    assertThat(release.exit()).as(release.out() + release.err()).isZero();
    ReleaseDocument doc = Json.read(release.out(), ReleaseDocument.class);
    assertThat(doc.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(doc.agents()).extracting(ReleaseAgent::id).containsExactly("web-1");
    assertThat(doc.agents().get(0).switchedAt()).isNotNull();
    assertThat(shop.hookLines()).anyMatch(l -> l.contains("web-1 prepare " + doc.id()))
        .anyMatch(l -> l.contains("web-1 switch " + doc.id()));
    assertThat(blog.hookLines()).as("the other service's web-1 ran no hook").isEmpty();

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(shop.api().get("/v1/agents/web-1?service=" + shop.service, AgentStatus.class).revision()).isEqualTo("v2");
      assertThat(blog.api().get("/v1/agents/web-1?service=" + blog.service, AgentStatus.class).revision()).isEqualTo("v1");
    });

    // Removing one (its process gone, or it would report again) leaves the other.
    blog.agent("web-1").destroyForcibly().waitFor();
    assertThat(shop.api().delete("/v1/agents/web-1?service=" + blog.service, Map.class)).containsEntry("service", blog.service);
    assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(CliException.class,
        () -> shop.api().get("/v1/agents/web-1?service=" + blog.service, AgentStatus.class)).getMessage())
        .contains("no agent web-1 is registered in service " + blog.service);
    assertThat(shop.api().get("/v1/agents/web-1?service=" + shop.service, AgentStatus.class).revision()).isEqualTo("v2");
  }

  /** When each service's coordinator last heard from its agents, as it lists them. */
  private static String lastSeenOfBoth() {
    return shop.agentList().stream().map(AgentStatus::lastSeen).toList() + " " + blog.agentList().stream().map(AgentStatus::lastSeen).toList();
  }
}
