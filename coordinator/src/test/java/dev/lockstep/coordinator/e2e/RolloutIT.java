package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.protocol.ReleaseRole;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Readiness mode end to end, as a Deployment rolls a service with {@code maxSurge: 100%, maxUnavailable: 0}: real
 * agents as the pods' sidecars, and a {@link Kubelet} that probes every pod's {@code /ready} every 100 ms and records the
 * Service's endpoints. One fleet, in order: the first release of the service makes its pods ready; an online rollout
 * to v2 with the set taken from the new pods, in which the new pods turn ready and the old ones un-ready together, with
 * never an empty Service and never a new pod before the migration committed; the old pods stopped (two by SIGTERM,
 * one by kill -9) without blocking the next release, a maintenance rollout to v3, in which no old pod serves after
 * PREPARING and no new one before SWITCHING; and a v4 whose migration fails, which leaves its pods un-ready and the v3
 * pods serving. {@code -Dlockstep.rollout.repetitions=N} repeats the online rollout N times more and prints the
 * switch skew and the overlap of old and new endpoints over all of them.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RolloutIT {
  private static final Duration PROBE_PERIOD = Duration.ofMillis(100);
  private static final Map<String, String> V1 = Map.of(
      "V1__accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY, email text);\n"
          + "INSERT INTO accounts VALUES (1, 'ada@example.com'), (2, 'grace@example.com');\n");
  private static final Map<String, String> V2 = with(V1, "V2__nickname.sql", "ALTER TABLE accounts ADD COLUMN nickname text;\n");
  private static final Map<String, String> V3 = with(V2, "V3__email_required.sql",
      "ALTER TABLE accounts ALTER COLUMN email SET NOT NULL;\n");
  private static final Map<String, String> V4 = with(V3, "V4__unique_email.sql",
      "CREATE UNIQUE INDEX accounts_email_key ON accounts (email);\n");

  private static TestDatabase db;
  private static Fleet fleet;
  private static Kubelet kubelet;
  /** The pods of each revision, by name. */
  private static final Map<String, List<String>> pods = new LinkedHashMap<>();
  private static final List<Measured> measured = new ArrayList<>();

  /** What one rollout's harness saw: the flip's spread across pods, and how long old and new both served. */
  record Measured(String revision, Long documentSkewMs, long flipSpreadMs, long overlapMs) {}

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("RolloutIT");
    fleet = new Fleet("RolloutIT", db);
    Fleet.shareClassData(db);
    fleet.startCoordinator(null);
    kubelet = new Kubelet(PROBE_PERIOD);
    kubelet.start();
  }

  @AfterAll
  static void stop() {
    if (kubelet != null) {
      kubelet.close();
    }
    if (fleet != null) {
      fleet.close();
    }
    if (db != null) {
      db.close();
    }
    measured.forEach(m -> System.out.println("RolloutIT " + m));
  }

  @Test
  @Order(1)
  void theFirstReleaseOfTheServiceMakesItsPodsReady() {
    startPods("v1", V1, 3);
    fleet.awaitAgents(pods.get("v1").toArray(String[]::new));
    long before = System.currentTimeMillis();
    kubelet.awaitRoundAfter(before + 500);
    assertThat(kubelet.between(before, Long.MAX_VALUE)).as("no release yet: no pod is ready")
        .allSatisfy(s -> assertThat(s.endpoints()).isEmpty());
    assertThat(gate("v1")).as("the gate is closed before any release").containsEntry("open", false);

    Fleet.CliRun run = fleet.cli("release", "--revision", "v1", "--migrations-from", "agents");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    ReleaseDocument doc = last();
    assertThat(doc.agents()).extracting(ReleaseAgent::role).containsOnly(ReleaseRole.NEW);
    assertThat(doc.options().migrationsFrom()).isEqualTo("agents");
    awaitEndpoints(pods.get("v1"));
    assertThat(gate("v1")).containsEntry("open", true);
  }

  @Test
  @Order(2)
  void anOnlineRolloutSwitchesTheNewPodsInAndTheOldOnesOutTogether() {
    Measured m = rollout("v1", "v2", V2, Mode.ONLINE);
    measured.add(m);
    assertThat(gate("v2")).containsEntry("open", true);
    assertThat(gate("v1")).containsEntry("open", false);
    for (int i = 0; i < Integer.getInteger("lockstep.rollout.repetitions", 0); i++) {
      // Each repetition rolls v2 → v2.1 → …: one more online migration, three more pods, the old ones stopped.
      String from = i == 0 ? "v2" : "v2." + i;
      String to = "v2." + (i + 1);
      Map<String, String> set = with(currentSet, "V2_" + (i + 1) + "__note_" + (i + 1) + ".sql",
          "ALTER TABLE accounts ADD COLUMN note_" + (i + 1) + " text;\n");
      measured.add(rollout(from, to, set, Mode.ONLINE));
      pods.get(from).forEach(this::terminate);
    }
  }

  @Test
  @Order(3)
  void aSidecarRestartedInAServingPodAnswersReadyAgainAsSoonAsItHearsTheCoordinator() {
    String pod = pods.get(servingRevision).get(0);
    long killed = System.currentTimeMillis();
    fleet.killAgentAlone(pod);
    fleet.restartAgent(pod);
    await().atMost(Duration.ofSeconds(10)).until(() -> kubelet.firstNotReady(pod, killed) >= 0);
    long down = kubelet.samples().get(kubelet.firstNotReady(pod, killed)).at();
    await().atMost(Duration.ofSeconds(30)).until(() -> kubelet.firstReady(pod, down) >= 0);
    assertThat(kubelet.between(killed, System.currentTimeMillis())).as("the other pods kept serving")
        .allSatisfy(s -> assertThat(s.endpoints()).isNotEmpty());
  }

  @Test
  @Order(4)
  void theOldPodsStopWithoutBlockingTheNextReleaseAndAMaintenanceRolloutKeepsOldAndNewApart() throws Exception {
    List<String> old = pods.get("v1");
    terminate(old.get(0));
    terminate(old.get(1));
    // Gone from the registry at once, audited as left: never lost.
    await().atMost(Duration.ofSeconds(5)).until(() -> fleet.agentList().stream()
        .noneMatch(a -> a.id().equals(old.get(0)) || a.id().equals(old.get(1))));
    assertThat(db.queryTexts("SELECT agent_id || ' ' || how FROM lockstep.agent_departures WHERE how = 'left'"
        + " ORDER BY agent_id")).containsExactly(old.get(0) + " left", old.get(1) + " left");
    long killedAt = System.currentTimeMillis();
    fleet.killAgentAlone(old.get(2)); // kill -9: it says nothing, and falls silent
    kubelet.forget(old.get(2));

    Measured m = rollout(servingRevision, "v3", V3, Mode.MAINTENANCE);
    measured.add(m);
    ReleaseDocument v3 = last();
    assertThat(v3.requestedBy()).isEqualTo("operator");

    // The killed pod was forgotten after --lost-after (3 s) and one report interval, and audited so.
    await().atMost(Duration.ofSeconds(15)).until(() -> db.queryLong("SELECT count(*) FROM lockstep.agent_departures"
        + " WHERE how = 'forgotten' AND agent_id = '" + old.get(2) + "'") == 1);
    assertThat(fleet.agentList()).extracting(AgentStatus::id).doesNotContain(old.get(2));
    long forgottenAt = db.queryLong("SELECT (extract(epoch FROM at) * 1000)::bigint FROM lockstep.agent_departures"
        + " WHERE how = 'forgotten' AND agent_id = '" + old.get(2) + "'");
    assertThat(forgottenAt - killedAt).as("forgotten no sooner than --lost-after after its last report")
        .isGreaterThanOrEqualTo(2900);
  }

  @Test
  @Order(5)
  void aMigrationThatFailsLeavesTheNewPodsUnreadyAndTheOldOnesServing() {
    List<String> old = pods.get(servingRevision);
    List<String> fresh = startPods("v4", V4, 3, 2.0);
    fleet.awaitAgents(fresh.toArray(String[]::new));
    long begun = System.currentTimeMillis();
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of("v4", null).fromAgents(),
        ReleaseDocument.class);
    await().atMost(Duration.ofSeconds(30)).until(() -> fleet.api().get("/v1/releases/" + started.id(),
        ReleaseDocument.class).phase() == Phase.PREPARING);
    // The application writes a duplicate while the new pods prepare: the rehearsal passed, the real migration fails.
    db.execute("INSERT INTO accounts (id, email) VALUES (3, 'ada@example.com')");
    ReleaseDocument end = await().atMost(Duration.ofSeconds(60)).until(
        () -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
    assertThat(end.phase()).as(end.reason()).isEqualTo(Phase.FAILED);
    assertThat(end.reason()).contains("accounts_email_key");
    long after = System.currentTimeMillis();
    kubelet.awaitRoundAfter(after + 1000);
    List<Kubelet.Sample> window = kubelet.between(begun, Long.MAX_VALUE);
    assertThat(window).as("the v4 pods never served").noneMatch(s -> s.anyReady(fresh::contains));
    assertThat(window).as("the v3 pods served throughout")
        .allSatisfy(s -> assertThat(s.endpoints()).containsAll(old));
    assertThat(gate("v4")).containsEntry("open", false);
    assertThat(String.valueOf(gate("v4").get("reason"))).contains("ended FAILED");
  }

  // ---- one rollout -----------------------------------------------------------------------------------------------

  private static String servingRevision = "v1";
  private static Map<String, String> currentSet = V1;

  /**
   * Starts three pods of {@code to}, releases it with the set taken from them, and checks what the kubelet saw against
   * the release's phases: the rules DESIGN.md gives for {@code mode}.
   */
  private Measured rollout(String from, String to, Map<String, String> set, Mode mode) {
    List<String> old = pods.get(from);
    List<String> fresh = startPods(to, set, 3);
    fleet.awaitAgents(fresh.toArray(String[]::new));
    awaitEndpoints(old);
    long begun = System.currentTimeMillis();
    Fleet.CliRun run = fleet.cli("release", "--revision", to, "--migrations-from", "agents");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    ReleaseDocument doc = last();
    assertThat(doc.mode()).isEqualTo(mode);
    assertThat(doc.agents()).filteredOn(a -> a.role() == ReleaseRole.NEW).extracting(ReleaseAgent::id)
        .containsExactlyInAnyOrderElementsOf(fresh);
    assertThat(doc.agents()).filteredOn(a -> a.role() == ReleaseRole.RETIRING && !a.gone()).extracting(ReleaseAgent::id)
        .containsAll(old);
    awaitEndpoints(fresh);
    kubelet.awaitRoundAfter(System.currentTimeMillis() + 300);
    long migrating = phaseEntered(doc.id(), Phase.MIGRATING);
    long switching = phaseEntered(doc.id(), Phase.SWITCHING);
    List<Kubelet.Sample> window = kubelet.between(begun, Long.MAX_VALUE);

    // No new pod took traffic before the migration committed (its answer came before SWITCHING was written).
    assertThat(window).filteredOn(s -> s.end() < switching).noneMatch(s -> s.anyReady(fresh::contains));
    if (mode == Mode.ONLINE) {
      assertThat(window).as("online: the Service never had no endpoint").allSatisfy(s -> assertThat(s.endpoints()).isNotEmpty());
    } else {
      assertThat(window).as("maintenance: no old pod served once MIGRATING began")
          .filteredOn(s -> s.at() > migrating).noneMatch(s -> s.anyReady(old::contains));
    }
    // The new pods turned ready within one probe period of each other, and the old ones turned un-ready with them.
    List<Integer> in = fresh.stream().map(p -> kubelet.firstReady(p, begun)).toList();
    assertThat(in).doesNotContain(-1);
    int firstIn = in.stream().min(Integer::compare).orElseThrow();
    assertThat(in.stream().max(Integer::compare).orElseThrow() - firstIn).as("rounds between the new pods' first ready")
        .isLessThanOrEqualTo(1);
    List<Integer> out = old.stream().filter(p -> kubelet.samples().get(firstIn).ready().containsKey(p))
        .map(p -> kubelet.firstNotReady(p, begun)).toList();
    if (mode == Mode.ONLINE) {
      assertThat(out).as("the old pods left the endpoints in the round the new ones joined, or the one next to it")
          .allSatisfy(i -> assertThat(Math.abs(i - firstIn)).isLessThanOrEqualTo(1));
    }
    List<Kubelet.Sample> all = kubelet.samples();
    List<Integer> flips = new ArrayList<>(in);
    flips.addAll(out.stream().filter(i -> i >= 0).toList());
    long spread = all.get(flips.stream().max(Integer::compare).orElseThrow()).at()
        - all.get(flips.stream().min(Integer::compare).orElseThrow()).at();
    long overlap = window.stream().filter(s -> s.anyReady(fresh::contains) && s.anyReady(old::contains)).count()
        * PROBE_PERIOD.toMillis();
    servingRevision = to;
    currentSet = set;
    return new Measured(to, doc.switchSkewMs(), spread, overlap);
  }

  private List<String> startPods(String revision, Map<String, String> set, int n) {
    return startPods(revision, set, n, 0);
  }

  /** Starts {@code n} pods of {@code revision}, the first one preparing for {@code slowPrepare} seconds. */
  private static List<String> startPods(String revision, Map<String, String> set, int n, double slowPrepare) {
    Path migrations = fleet.folder("image-" + revision, set);
    List<String> names = IntStream.rangeClosed(1, n).mapToObj(i -> "pod-" + revision.replace('.', '-') + "-" + i).toList();
    for (String name : names) {
      Fleet.AgentSpec spec = Fleet.AgentSpec.of(name, revision, migrations);
      if (name.endsWith("-1")) {
        spec = spec.preparingFor(slowPrepare);
        // One pod of each image uses the token of the whole service, as pods with generated names do.
        fleet.useAgentToken(name, dev.lockstep.coordinator.identity.AgentTokens.of(Fleet.AGENT_SECRET)
            .issueForService(fleet.service));
      }
      kubelet.watch(name, fleet.startPod(spec));
    }
    pods.put(revision, names);
    return names;
  }

  private void terminate(String pod) {
    fleet.terminateAgent(pod);
    kubelet.forget(pod);
  }

  private static void awaitEndpoints(List<String> expected) {
    await().atMost(Duration.ofSeconds(30)).pollInterval(PROBE_PERIOD).until(() -> {
      List<Kubelet.Sample> all = kubelet.samples();
      return !all.isEmpty() && all.get(all.size() - 1).endpoints().containsAll(expected);
    });
  }

  private static ReleaseDocument last() {
    return fleet.api().get("/v1/releases?service=" + fleet.service + "&limit=1", ReleaseList.class).releases().get(0);
  }

  record ReleaseList(List<ReleaseDocument> releases) {}

  /** When the release entered {@code phase}: its first event at that phase (epoch millis, the coordinator's clock). */
  private static long phaseEntered(String release, Phase phase) {
    return db.queryLong("SELECT (extract(epoch FROM min(at)) * 1000)::bigint FROM lockstep.release_events"
        + " WHERE release_id = '" + release + "' AND phase = '" + phase.name() + "'");
  }

  /** The gate's answer for {@code revision}, asked with an agent's token as a platform's webhook would. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> gate(String revision) {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(fleet.url()
              + "/v1/services/" + fleet.service + "/gate?revision=" + revision))
          .header("Authorization", "Bearer " + Fleet.agentToken(fleet.service, "gatekeeper")).build(),
          HttpResponse.BodyHandlers.ofString());
      Map<String, Object> body = dev.lockstep.protocol.Json.read(r.body(), Map.class);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(Boolean.TRUE.equals(body.get("open")) ? 200 : 409);
      return body;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static Map<String, String> with(Map<String, String> base, String name, String sql) {
    Map<String, String> all = new java.util.TreeMap<>(base);
    all.put(name, sql);
    return all;
  }
}
