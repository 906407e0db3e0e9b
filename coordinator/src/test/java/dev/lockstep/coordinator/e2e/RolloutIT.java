package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.protocol.ReleaseRole;
import dev.lockstep.testkit.TestDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Readiness mode end to end, as a Deployment rolls a service with {@code maxSurge: 100%, maxUnavailable: 0}: real
 * agents as the pods' sidecars, and a {@link Kubelet} that probes every pod's {@code /ready} every 100 ms and records the
 * Service's endpoints ({@link Pods}). One fleet, in order: the first release of the service makes its pods ready; an online rollout
 * to v2 with the set taken from the new pods, in which the new pods turn ready and the old ones un-ready together, with
 * never an empty Service and never a new pod before the migration committed; the old pods stopped (two by SIGTERM,
 * one by kill -9) without blocking the next release, a maintenance rollout to v3, in which no old pod serves after
 * PREPARING and no new one before SWITCHING; and a v4 whose migration fails, which leaves its pods un-ready and the v3
 * pods serving; and new pods whose images disagree, from which no release takes its set.
 * {@code -Dlockstep.rollout.repetitions=N} repeats the online rollout N times more and prints the
 * switch skew and the overlap of old and new endpoints over all of them.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RolloutIT {
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
  private static Pods pods;
  private static final List<Pods.Measured> measured = new ArrayList<>();
  private static String servingRevision = "v1";
  private static Map<String, String> currentSet = V1;

  @BeforeAll
  static void start() {
    pods = Pods.start("RolloutIT");
    fleet = pods.fleet;
    db = pods.database();
  }

  @AfterAll
  static void stop() {
    if (pods != null) {
      pods.close();
    }
    measured.forEach(m -> System.out.println("RolloutIT " + m));
  }

  @Test
  @Order(1)
  void theFirstReleaseOfTheServiceMakesItsPodsReady() {
    List<String> first = pods.start("v1", image("v1", V1), 3, 0);
    long before = System.currentTimeMillis();
    pods.kubelet.awaitRoundAfter(before + 500);
    assertThat(pods.kubelet.between(before, Long.MAX_VALUE)).as("no release yet: no pod is ready")
        .allSatisfy(s -> assertThat(s.endpoints()).isEmpty());
    assertThat(pods.gate("v1")).as("the gate is closed before any release").containsEntry("open", false);

    Fleet.CliRun run = fleet.cli("release", "--revision", "v1", "--migrations-from", "agents");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    ReleaseDocument doc = pods.last();
    assertThat(doc.agents()).extracting(ReleaseAgent::role).containsOnly(ReleaseRole.NEW);
    assertThat(doc.options().migrationsFrom()).isEqualTo("agents");
    assertThat(run.out()).contains("ROLE").contains("new");
    pods.awaitEndpoints(first);
    assertThat(pods.gate("v1")).containsEntry("open", true);
  }

  @Test
  @Order(2)
  void anOnlineRolloutSwitchesTheNewPodsInAndTheOldOnesOutTogether() {
    measured.add(rollout("v2", V2));
    assertThat(measured.get(0).mode()).isEqualTo(Mode.ONLINE);
    assertThat(pods.gate("v2")).containsEntry("open", true);
    assertThat(pods.gate("v1")).containsEntry("open", false);
    for (int i = 1; i <= Integer.getInteger("lockstep.rollout.repetitions", 0); i++) {
      // Each repetition rolls on to v2.i: one more online migration, three more pods, the old ones stopped.
      String from = servingRevision;
      measured.add(rollout("v2." + i, with(currentSet, "V2_" + i + "__note_" + i + ".sql",
          "ALTER TABLE accounts ADD COLUMN note_" + i + " text;\n")));
      pods.of(from).forEach(pods::terminate);
    }
  }

  @Test
  @Order(3)
  void aSidecarRestartedInAServingPodAnswersReadyAgainAsSoonAsItHearsTheCoordinator() {
    String pod = pods.of(servingRevision).get(0);
    long killed = System.currentTimeMillis();
    fleet.killAgentAlone(pod);
    fleet.restartAgent(pod);
    await().atMost(Duration.ofSeconds(10)).until(() -> pods.kubelet.firstNotReady(pod, killed) >= 0);
    long down = pods.kubelet.samples().get(pods.kubelet.firstNotReady(pod, killed)).at();
    await().atMost(Duration.ofSeconds(30)).until(() -> pods.kubelet.firstReady(pod, down) >= 0);
    assertThat(pods.kubelet.between(killed, System.currentTimeMillis())).as("the other pods kept serving")
        .allSatisfy(s -> assertThat(s.endpoints()).isNotEmpty());
  }

  @Test
  @Order(4)
  void theOldPodsStopWithoutBlockingTheNextReleaseAndAMaintenanceRolloutKeepsOldAndNewApart() {
    List<String> old = pods.of("v1");
    pods.terminate(old.get(0));
    pods.terminate(old.get(1));
    // Gone from the registry at once, audited as left: never lost.
    await().atMost(Duration.ofSeconds(5)).until(() -> fleet.agentList().stream()
        .noneMatch(a -> a.id().equals(old.get(0)) || a.id().equals(old.get(1))));
    assertThat(db.queryTexts("SELECT agent_id || ' ' || how FROM lockstep.agent_departures WHERE agent_id IN ('"
        + old.get(0) + "', '" + old.get(1) + "') ORDER BY agent_id")).containsExactly(old.get(0) + " left", old.get(1) + " left");
    long killedAt = System.currentTimeMillis();
    fleet.killAgentAlone(old.get(2)); // kill -9: it says nothing, and falls silent
    pods.kubelet.forget(old.get(2));

    Pods.Measured m = rollout("v3", V3);
    measured.add(m);
    assertThat(m.mode()).isEqualTo(Mode.MAINTENANCE);

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
    List<String> old = pods.of(servingRevision);
    List<String> fresh = pods.start("v4", image("v4", V4), 3, 2.0);
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
    pods.kubelet.awaitRoundAfter(System.currentTimeMillis() + 1000);
    List<Kubelet.Sample> window = pods.kubelet.between(begun, Long.MAX_VALUE);
    assertThat(window).as("the v4 pods never served").noneMatch(s -> s.anyReady(fresh::contains));
    assertThat(window).as("the v3 pods served throughout")
        .allSatisfy(s -> assertThat(s.endpoints()).containsAll(old));
    assertThat(pods.gate("v4")).containsEntry("open", false);
    assertThat(String.valueOf(pods.gate("v4").get("reason"))).contains("ended FAILED");
  }

  @Test
  @Order(6)
  void aReleaseRefusesToTakeItsSetFromNewPodsThatDisagree() {
    pods.start("v5", image("v5", with(V4, "V5__a.sql", "SELECT 1;\n")), 1, 0);
    Fleet.AgentSpec other = Fleet.AgentSpec.of("pod-v5-odd", "v5", image("v5-odd", with(V4, "V5__a.sql", "SELECT 2;\n")));
    pods.kubelet.watch(other.id(), fleet.startPod(other));
    fleet.awaitAgents(other.id());
    String before = pods.last().id();
    Fleet.CliRun run = fleet.cli("release", "--revision", "v5", "--migrations-from", "agents");
    assertThat(run.exit()).isNotZero();
    assertThat(run.err()).contains("the new instances on v5 staged different migration sets")
        .contains("pod-v5-1").contains("pod-v5-odd");
    assertThat(pods.last().id()).as("nothing was recorded").isEqualTo(before);
  }

  /** Three pods of {@code to} carrying {@code set}, released with the set taken from them, checked by {@link Pods}. */
  private static Pods.Measured rollout(String to, Map<String, String> set) {
    List<String> old = pods.of(servingRevision);
    List<String> fresh = pods.start(to, image(to, set), 3, 0);
    pods.awaitEndpoints(old);
    long begun = System.currentTimeMillis();
    Fleet.CliRun run = fleet.cli("release", "--revision", to, "--migrations-from", "agents");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    Pods.Measured m = pods.checkRollout(pods.last(), old, fresh, begun);
    servingRevision = to;
    currentSet = set;
    return m;
  }

  private static Path image(String revision, Map<String, String> set) {
    return fleet.folder("image-" + revision, set);
  }

  private static Map<String, String> with(Map<String, String> base, String name, String sql) {
    Map<String, String> all = new java.util.TreeMap<>(base);
    all.put(name, sql);
    return all;
  }
}
