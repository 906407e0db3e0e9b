package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.coordinator.identity.AgentTokens;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRole;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * A service run as replicas of images, for readiness-mode tests: pods are agents of a {@link Fleet} in readiness mode
 * (the first of each image with a token of the whole service, as pods with generated names have), watched by a
 * {@link Kubelet} that probes them every {@value #PROBE_MS} ms; and the checks DESIGN.md's "Containers and Kubernetes"
 * asks of a rollout, made on what that kubelet saw.
 *
 * <pre>{@code
 * Pods pods = Pods.start("RolloutIT");
 * List<String> fresh = pods.start("v2", image, 3, 0);
 * ... release ...
 * Pods.Measured m = pods.checkRollout(doc, old, fresh, begun);
 * }</pre>
 */
final class Pods implements AutoCloseable {
  static final long PROBE_MS = 100;

  /**
   * What one rollout's harness saw: the agents' own switch skew (the release document's), the spread of the flip across
   * probe rounds, how long old and new pods both served, how long none did, and how many probe rounds after the last
   * new pod's first ready answer the last old pod left the endpoints.
   */
  record Measured(String revision, Mode mode, Long documentSkewMs, long flipSpreadMs, long overlapMs, long noEndpointMs,
                  int oldOutRoundsAfterLastNewIn) {}

  final Fleet fleet;
  final Kubelet kubelet = new Kubelet(Duration.ofMillis(PROBE_MS));
  private final TestDatabase db;
  private final Map<String, List<String>> byRevision = new LinkedHashMap<>();

  private Pods(Fleet fleet, TestDatabase db) {
    this.fleet = fleet;
    this.db = db;
    kubelet.start();
  }

  /**
   * A database of the test's own, a fleet whose coordinator runs with {@code coordinatorArgs} (and no migrations folder:
   * every release here takes its set from the pods), and the kubelet. {@link #close} ends all three.
   */
  static Pods start(String testName, String... coordinatorArgs) {
    return start(testName, Map.of(), coordinatorArgs);
  }

  /** As {@link #start(String, String...)}, the coordinator with {@code coordinatorEnvironment} set too. */
  static Pods start(String testName, Map<String, String> coordinatorEnvironment, String... coordinatorArgs) {
    TestDatabase db = TestPostgres.instance().createDatabase(testName);
    Fleet fleet = new Fleet(testName, db);
    coordinatorEnvironment.forEach(fleet::coordinatorEnvironment);
    fleet.startCoordinator(null, coordinatorArgs);
    return new Pods(fleet, db);
  }

  TestDatabase database() {
    return db;
  }

  /** Starts {@code n} pods of {@code revision} whose image carries {@code image}; the first prepares for {@code slowPrepare} s. */
  List<String> start(String revision, Path image, int n, double slowPrepare, String... extra) {
    List<String> names = IntStream.rangeClosed(1, n).mapToObj(i -> "pod-" + revision.replace('.', '-') + "-" + i).toList();
    for (String name : names) {
      Fleet.AgentSpec spec = Fleet.AgentSpec.of(name, revision, image);
      if (name.endsWith("-1")) {
        spec = spec.preparingFor(slowPrepare);
        fleet.useAgentToken(name, AgentTokens.of(Fleet.AGENT_SECRET).issueForService(fleet.service));
      }
      kubelet.watch(name, fleet.startPod(spec, extra));
    }
    byRevision.put(revision, names);
    fleet.awaitAgents(names.toArray(String[]::new));
    return names;
  }

  List<String> of(String revision) {
    return byRevision.get(revision);
  }

  /** SIGTERM, as the kubelet stops a pod the Deployment removes; the pod is no longer probed. */
  void terminate(String pod) {
    fleet.terminateAgent(pod);
    kubelet.forget(pod);
  }

  void awaitEndpoints(List<String> expected) {
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(PROBE_MS)).until(() -> {
      List<Kubelet.Sample> all = kubelet.samples();
      return !all.isEmpty() && all.get(all.size() - 1).endpoints().containsAll(expected);
    });
  }

  /** The service's newest release; null before the first. */
  ReleaseDocument last() {
    List<ReleaseDocument> releases = fleet.api().get("/v1/releases?service=" + fleet.service + "&limit=1",
        ReleaseList.class).releases();
    return releases.isEmpty() ? null : releases.get(0);
  }

  record ReleaseList(List<ReleaseDocument> releases) {}

  /** When {@code release} entered {@code phase}: its first event at that phase (epoch millis, the coordinator's clock). */
  long phaseEntered(String release, Phase phase) {
    return db.queryLong("SELECT (extract(epoch FROM min(at)) * 1000)::bigint FROM lockstep.release_events"
        + " WHERE release_id = '" + release + "' AND phase = '" + phase.name() + "'");
  }

  /** The gate's answer for {@code revision}, asked with an agent token of the service, as a platform's webhook would. */
  @SuppressWarnings("unchecked")
  Map<String, Object> gate(String revision) {
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

  /**
   * Checks a completed rollout from {@code old} to {@code fresh} pods against what the kubelet saw from {@code begun}
   * on: the roles in the document; no new pod serving before the migration committed; in online mode never an empty
   * Service, in maintenance mode no old pod serving once MIGRATING began; the new pods turning ready within one probe
   * round of each other and (online) the old ones turning un-ready once they were all in, before COMPLETED.
   */
  Measured checkRollout(ReleaseDocument doc, List<String> old, List<String> fresh, long begun) {
    assertThat(doc.phase()).as(doc.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(doc.agents()).filteredOn(a -> a.role() == ReleaseRole.NEW).extracting(ReleaseAgent::id)
        .containsAll(fresh);
    assertThat(doc.agents()).filteredOn(a -> a.role() == ReleaseRole.RETIRING && !a.gone()).extracting(ReleaseAgent::id)
        .containsAll(old);
    awaitEndpoints(fresh);
    kubelet.awaitRoundAfter(System.currentTimeMillis() + 300);
    long migrating = phaseEntered(doc.id(), Phase.MIGRATING);
    long switching = phaseEntered(doc.id(), Phase.SWITCHING);
    List<Kubelet.Sample> window = kubelet.between(begun, Long.MAX_VALUE);

    assertThat(window).as("no new pod answered ready before SWITCHING was written (the migration committed)")
        .filteredOn(s -> s.end() < switching).noneMatch(s -> s.anyReady(fresh::contains));
    if (doc.mode() == Mode.ONLINE) {
      assertThat(window).as("online: the Service never had no endpoint")
          .allSatisfy(s -> assertThat(s.endpoints()).isNotEmpty());
    } else {
      assertThat(window).as("maintenance: no old pod served once MIGRATING began")
          .filteredOn(s -> s.at() > migrating).noneMatch(s -> s.anyReady(old::contains));
    }
    List<Kubelet.Sample> all = kubelet.samples();
    List<Integer> in = fresh.stream().map(p -> kubelet.firstReady(p, begun)).toList();
    assertThat(in).doesNotContain(-1);
    int firstIn = in.stream().min(Integer::compare).orElseThrow();
    assertThat(in.stream().max(Integer::compare).orElseThrow() - firstIn)
        .as("probe rounds between the new pods' first ready answers").isLessThanOrEqualTo(1);
    List<Integer> out = old.stream().filter(p -> all.get(firstIn).ready().containsKey(p))
        .map(p -> kubelet.firstNotReady(p, begun)).filter(i -> i >= 0).toList();
    int lastIn = in.stream().max(Integer::compare).orElseThrow();
    long completed = phaseEntered(doc.id(), Phase.COMPLETED);
    if (doc.mode() == Mode.ONLINE) {
      // The old pods stop once every new one is ready (the coordinator tells them then), and before the release
      // completes (it waits for them); how many rounds that took is measured below, not held to a time here.
      assertThat(out).as("the old pods left the endpoints once the new ones were in, during SWITCHING").allSatisfy(i -> {
        assertThat(i).isGreaterThanOrEqualTo(lastIn - 1);
        assertThat(all.get(i).at()).isLessThanOrEqualTo(completed + PROBE_MS);
      });
    }
    List<Integer> flips = new ArrayList<>(in);
    flips.addAll(out);
    long spread = all.get(flips.stream().max(Integer::compare).orElseThrow()).at()
        - all.get(flips.stream().min(Integer::compare).orElseThrow()).at();
    long overlap = window.stream().filter(s -> s.anyReady(fresh::contains) && s.anyReady(old::contains)).count() * PROBE_MS;
    long none = window.stream().filter(s -> s.endpoints().isEmpty()).count() * PROBE_MS;
    return new Measured(doc.revision(), doc.mode(), doc.switchSkewMs(), spread, overlap, none,
        out.isEmpty() ? 0 : out.stream().max(Integer::compare).orElseThrow() - lastIn);
  }

  @Override
  public void close() {
    kubelet.close();
    fleet.close();
    db.close();
  }
}
