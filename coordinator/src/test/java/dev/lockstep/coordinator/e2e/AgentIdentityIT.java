package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.coordinator.cli.ApiClient;
import dev.lockstep.coordinator.identity.AgentTokens;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Per-agent identity and the audit trail (DESIGN.md, "Security"), with a real coordinator and real agent
 * processes: each agent runs with its own token as {@code lockstep agent-token} prints it, an agent that
 * reports for another is refused and the registry stays as it was, a token of one service is useless for
 * another, and the named operator tokens of a {@code --token-file} show in the release document, its events,
 * {@code history} and the abort.
 */
class AgentIdentityIT {
  private static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final String ALICE = "alice-" + UUID.randomUUID();
  private static final String CI = "ci-" + UUID.randomUUID();
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path migrations;
  private static Path hold;
  private static String printedToken;

  @BeforeAll
  static void start() throws Exception {
    db = TestPostgres.instance().createDatabase("AgentIdentityIT");
    fleet = new Fleet("AgentIdentityIT", db);
    migrations = fleet.migrations("story");
    // One token in the clear, one by its SHA-256 only: the file need not hold the secret.
    Path tokens = Files.writeString(fleet.dir.resolve("operator-tokens"), "# who may release shop\nalice:" + ALICE
        + "\n\nci-deploy:sha256:" + sha256(CI) + "\n");
    hold = fleet.dir.resolve("hold-prepare");
    Files.deleteIfExists(hold);
    fleet.startCoordinator(migrations, "--token-file", tokens.toString());

    Fleet.CliRun printed = fleet.command(List.of("agent-token", "--service", fleet.service, "--id", "web-1",
        "--agent-secret", Fleet.AGENT_SECRET));
    assertThat(printed.exit()).as(printed.err()).isZero();
    assertThat(printed.out().lines().toList()).hasSize(1);
    printedToken = printed.out().trim();
    assertThat(printedToken).startsWith("lsa1.").doesNotContain(Fleet.AGENT_SECRET);

    // web-1 runs with the printed token; a prepare hook waits while the hold file exists, so a release can be
    // caught in PREPARING and aborted.
    fleet.useAgentToken("web-1", printedToken);
    String waitWhileHeld = "while [ -f " + hold + " ]; do sleep 0.2; done; ";
    fleet.startSlowAgent("web-1", "v0", migrations, waitWhileHeld);
    fleet.startSlowAgent("web-2", "v0", migrations, waitWhileHeld);
    fleet.awaitAgents("web-1", "web-2");
  }

  @AfterAll
  static void stop() throws IOException {
    Files.deleteIfExists(hold);
    fleet.close();
    db.close();
  }

  @Test
  void theTokenAgentTokenPrintsIsTheOneTheCoordinatorAccepts() {
    assertThat(printedToken).isEqualTo(Fleet.agentToken(fleet.service, "web-1"));
    assertThat(agent("web-1").state().wireName()).isNotEqualTo("lost");
  }

  @Test
  void anAgentThatReportsForAnotherAgentIsRefusedAndTheRegistryIsUnchanged() throws Exception {
    String service = fleet.service;
    AgentStatus before = agent("web-2");
    HttpResponse<String> forged = call("PUT", "/v1/agents/web-2", printedToken,
        report("web-2", service, "v-forged", "switched"));
    assertThat(error(forged, 403).detail()).startsWith("agent token of " + service + "/web-1 may not report for "
        + service + "/web-2");
    // Registering a new agent under another's token is refused as well.
    assertThat(error(call("PUT", "/v1/agents/ghost", printedToken, report("ghost", service, "v0", "serving")), 403).detail())
        .contains("may not report for " + service + "/ghost");

    AgentStatus after = agent("web-2");
    assertThat(after.revision()).isEqualTo(before.revision()).isNotEqualTo("v-forged");
    assertThat(after.state()).isEqualTo(before.state());
    assertThat(error(call("GET", "/v1/agents/ghost?service=" + service, Fleet.OPERATOR_TOKEN, null), 404).detail())
        .contains("no agent ghost");

    // A real agent process that runs with web-1's token under the id web-3: every report refused, never registered.
    fleet.useAgentToken("web-3", printedToken);
    fleet.startAgent("web-3", "v0", migrations);
    Path log = fleet.dir.resolve("agent-web-3.log");
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() ->
        Files.exists(log) && Files.readString(log).contains("agent token of " + service + "/web-1 may not report for "
            + service + "/web-3"));
    assertThat(Files.readString(log)).contains("403");
    assertThat(fleet.agentList()).extracting(AgentStatus::id).doesNotContain("web-3");
    fleet.killAgent("web-3");
  }

  @Test
  void aTokenOfOneServiceIsUselessForAnother() throws Exception {
    String service = fleet.service;
    String other = "other-" + service;
    String stolen = Fleet.agentToken(other, "web-1");
    AgentStatus before = agent("web-1");

    assertThat(error(call("PUT", "/v1/agents/web-1", stolen, report("web-1", service, "v-stolen", "switched")), 403).detail())
        .startsWith("agent token of " + other + "/web-1 may not report for " + service + "/web-1");
    assertThat(error(call("GET", "/v1/services/" + service + "/desired", stolen, null), 403).detail())
        .isEqualTo("agent token of " + other + "/web-1 may not read the desired state of service " + service
            + "; it is a token of service " + other);
    // The blocking query is refused at once, not held.
    long began = System.nanoTime();
    HttpResponse<String> poll = call("GET", "/v1/services/" + service + "/desired?index=999999&wait=20s", stolen, null);
    assertThat(error(poll, 403).detail()).contains("may not read the desired state of service " + service);
    assertThat(Duration.ofNanos(System.nanoTime() - began)).isLessThan(Duration.ofSeconds(5));
    // And the other way round: web-1's own token reads only its own service.
    assertThat(error(call("GET", "/v1/services/" + other + "/desired?index=0&wait=10s", printedToken, null), 403).detail())
        .contains("agent token of " + service + "/web-1 may not read the desired state of service " + other);
    assertThat(call("GET", "/v1/services/" + service + "/desired", printedToken, null).statusCode()).isEqualTo(200);

    // A token made with another secret is no token at all; an agent token never starts a release.
    String otherSecret = AgentTokens.of("some-other-secret-" + UUID.randomUUID()).issue(service, "web-1");
    assertThat(error(call("GET", "/v1/services/" + service + "/desired", otherSecret, null), 401).detail())
        .isEqualTo("unknown token");
    assertThat(error(call("POST", "/v1/releases", printedToken, "{\"revision\":\"v9\"}"), 403).detail())
        .contains("agent token may not POST /v1/releases");

    assertThat(agent("web-1").revision()).isEqualTo(before.revision()).isNotEqualTo("v-stolen");
  }

  @Test
  void theAuditTrailNamesTheOperator() throws Exception {
    // alice releases through the CLI with her named token.
    Fleet.CliRun released = fleet.command(List.of("release", "--revision", "v1", "--schema", "1", "--json",
        "--coordinator", fleet.url(), "--token", ALICE));
    assertThat(released.exit()).as(released.out() + released.err()).isZero();
    ReleaseDocument first = Json.read(released.out(), ReleaseDocument.class);
    assertThat(first.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(first.requestedBy()).isEqualTo("alice");
    assertThat(first.requestedFrom()).isEqualTo("127.0.0.1");
    assertThat(first.abortedBy()).isNull();
    assertThat(events(first.id())).anySatisfy(e -> assertThat(e).contains("release requested by alice from 127.0.0.1"));

    // The pipeline (a hashed entry of the file) starts the next one; alice aborts it while the fleet prepares.
    Files.writeString(hold, "held");
    ReleaseDocument second = new ApiClient(fleet.url(), CI).post("/v1/releases", ReleaseRequest.of("v2", null),
        ReleaseDocument.class);
    assertThat(second.requestedBy()).isEqualTo("ci-deploy");
    await().atMost(Duration.ofSeconds(30)).until(() -> fleet.api().get("/v1/releases/" + second.id(), ReleaseDocument.class)
        .phase() == Phase.PREPARING);
    Fleet.CliRun abort = fleet.command(List.of("abort", second.id(), "--coordinator", fleet.url(), "--token", ALICE));
    assertThat(abort.exit()).as(abort.out() + abort.err()).isZero();
    await().atMost(Duration.ofSeconds(30)).until(() -> fleet.api().get("/v1/releases/" + second.id(), ReleaseDocument.class)
        .phase() == Phase.ABORTED);
    Files.deleteIfExists(hold);
    ReleaseDocument aborted = fleet.api().get("/v1/releases/" + second.id(), ReleaseDocument.class);
    assertThat(aborted.requestedBy()).isEqualTo("ci-deploy");
    assertThat(aborted.abortedBy()).isEqualTo("alice");
    assertThat(aborted.abortedFrom()).isEqualTo("127.0.0.1");
    assertThat(events(second.id())).anySatisfy(e -> assertThat(e).contains("release requested by ci-deploy from 127.0.0.1"))
        .anySatisfy(e -> assertThat(e).contains("abort requested by alice from 127.0.0.1"));

    // history shows who asked for the release that applied each migration, and who started and aborted each release.
    Fleet.CliRun history = fleet.cli("history");
    assertThat(history.exit()).as(history.err()).isZero();
    assertThat(history.out()).contains("REQUESTED BY").contains("ABORTED BY");
    String v1 = history.out().lines().filter(l -> l.startsWith("1 ")).findFirst().orElseThrow();
    assertThat(v1).contains(first.id()).contains("alice");
    String abortedRow = history.out().lines().filter(l -> l.startsWith(second.id())).findFirst().orElseThrow();
    assertThat(abortedRow).contains("ci-deploy").contains("ABORTED").contains("alice from 127.0.0.1");

    // An agent removal names who removed it, in the answer and the coordinator's log.
    assertThat(call("PUT", "/v1/agents/gone", Fleet.OPERATOR_TOKEN, report("gone", fleet.service, "v0", "serving"))
        .statusCode()).isEqualTo(200);
    Map<?, ?> removed = new ApiClient(fleet.url(), ALICE).delete("/v1/agents/gone?service=" + fleet.service, Map.class);
    assertThat(removed.get("requestedBy")).isEqualTo("alice");
    assertThat(removed.get("requestedFrom")).isEqualTo("127.0.0.1");
    Path log = fleet.coordinators().get(0).log();
    assertThat(Files.readString(log)).contains("agent gone of service " + fleet.service + " removed by alice from 127.0.0.1")
        .contains("abort of release " + second.id() + " requested by alice from 127.0.0.1")
        .doesNotContain(ALICE).doesNotContain(CI).doesNotContain(Fleet.AGENT_SECRET).doesNotContain(printedToken);
  }

  /** --agent-token alone is refused at start-up; with --allow-shared-agent-token it works, with a warning. */
  @Test
  void theSharedAgentTokenWorksOnlyBehindItsFlag() throws Exception {
    Fleet.CliRun refused = fleet.command(List.of("serve", "--token", "op-" + UUID.randomUUID(), "--agent-token",
        Fleet.SHARED_AGENT_TOKEN, "--database-url", db.postgresUrl()));
    assertThat(refused.exit()).isEqualTo(2);
    String line = refused.err().strip();
    assertThat(line.lines().filter(l -> l.startsWith("lockstep: ")).toList()).singleElement().satisfies(l -> assertThat(l)
        .contains("--agent-secret").contains("--allow-shared-agent-token").contains("lockstep agent-token"));
    assertThat(refused.out() + refused.err()).doesNotContain(Fleet.SHARED_AGENT_TOKEN);

    try (TestDatabase sharedDb = TestPostgres.instance().createDatabase("AgentIdentityIT_shared");
         Fleet shared = new Fleet("AgentIdentityIT-shared", sharedDb)) {
      Path sharedMigrations = shared.migrations("story");
      shared.startCoordinator(sharedMigrations, "--agent-token", Fleet.SHARED_AGENT_TOKEN, "--allow-shared-agent-token");
      shared.useAgentToken("old-1", Fleet.SHARED_AGENT_TOKEN);
      shared.startAgent("old-1", "v0", sharedMigrations);
      shared.startAgent("new-1", "v0", sharedMigrations);   // its own token: both kinds work side by side
      shared.awaitAgents("old-1", "new-1");
      String log = Files.readString(shared.coordinators().get(0).log());
      assertThat(log).contains("WARN").contains("any agent holding it can report for any other agent of any service")
          .doesNotContain(Fleet.SHARED_AGENT_TOKEN);
      // What the flag costs: the shared token speaks for any agent.
      HttpRequest put = HttpRequest.newBuilder(URI.create(shared.url() + "/v1/agents/someone-else"))
          .header("Authorization", "Bearer " + Fleet.SHARED_AGENT_TOKEN).header("Content-Type", "application/json")
          .PUT(HttpRequest.BodyPublishers.ofString(report("someone-else", shared.service, "v0", "serving"))).build();
      assertThat(http.send(put, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      shared.api().delete("/v1/agents/someone-else?service=" + shared.service, Map.class);
    }
  }

  @Test
  void malformedTokenFilesEndStartUpNamingTheFileAndLine() throws Exception {
    Path bad = Files.writeString(fleet.dir.resolve("bad-tokens"), "alice:" + ALICE + "\nbob " + CI + "\n");
    Path twice = Files.writeString(fleet.dir.resolve("twice-tokens"), "alice:" + ALICE + "\nalice:" + CI + "\n");
    for (Object[] c : new Object[][] {{bad, "line 2", "expected 'name:token'"}, {twice, "line 2", "name 'alice' is given already"}}) {
      Fleet.CliRun run = fleet.command(List.of("serve", "--token-file", c[0].toString(), "--agent-secret", Fleet.AGENT_SECRET,
          "--database-url", db.postgresUrl()));
      assertThat(run.exit()).isEqualTo(2);
      assertThat(run.err()).contains("lockstep: token file " + c[0] + " " + c[1] + ": ").contains((String) c[2])
          .doesNotContain(ALICE).doesNotContain(CI);
    }
  }

  private static AgentStatus agent(String id) {
    return fleet.api().get("/v1/agents/" + id + "?service=" + fleet.service, AgentStatus.class);
  }

  private static List<String> events(String releaseId) {
    List<String> events = new ArrayList<>();
    fleet.api().events("/v1/releases/" + releaseId + "/events", (name, data) -> events.add(data));
    return events;
  }

  private static String report(String id, String service, String revision, String state) {
    return "{\"id\":\"" + id + "\",\"service\":\"" + service + "\",\"revision\":\"" + revision + "\",\"state\":\"" + state + "\"}";
  }

  private static HttpResponse<String> call(String method, String path, String token, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fleet.url() + path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .header("Content-Type", "application/json");
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static ErrorBody error(HttpResponse<String> response, int status) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
    return Json.read(response.body(), ErrorBody.class);
  }

  private static String sha256(String text) throws Exception {
    return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }
}
