package dev.lockstep.coordinator.e2e;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Plays the kubelet and the endpoints controller for one Service: every {@code period} it probes {@code GET /ready} of
 * every pod it watches, all at once, and records which pods answered 200 — the Service's endpoints at that moment.
 * A probe that is refused, times out (after one second, the kubelet's shortest {@code timeoutSeconds}) or answers
 * anything but 200 counts as not ready at once, as with {@code failureThreshold: 1} and {@code successThreshold: 1}. The samples are what a test asserts on: when the new pods joined the
 * endpoints, when the old ones left, whether there ever were none.
 *
 * <pre>{@code
 * try (Kubelet kubelet = new Kubelet(Duration.ofMillis(100))) {
 *   kubelet.watch("web-1", port);
 *   kubelet.start();
 *   ...
 *   kubelet.samples()
 * }
 * }</pre>
 */
final class Kubelet implements AutoCloseable {

  /**
   * One probe round: when it began and when its last answer came (epoch millis), and, per pod watched then, whether it
   * was ready. A pod's answer was given somewhere between the two.
   */
  record Sample(long at, long end, Map<String, Boolean> ready) {
    Set<String> endpoints() {
      Set<String> in = new TreeSet<>();
      ready.forEach((pod, yes) -> {
        if (yes) {
          in.add(pod);
        }
      });
      return in;
    }

    boolean anyReady(Predicate<String> pods) {
      return endpoints().stream().anyMatch(pods);
    }
  }

  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);

  private final Duration period;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofMillis(500)).build();
  private final Map<String, Integer> pods = new ConcurrentHashMap<>();
  private final List<Sample> samples = new ArrayList<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "kubelet");
    t.setDaemon(true);
    return t;
  });

  Kubelet(Duration period) {
    this.period = period;
  }

  /** Probes pod {@code name} on {@code port} from the next round on. */
  void watch(String name, int port) {
    pods.put(name, port);
  }

  /** The pod is deleted: no longer probed, no longer an endpoint. */
  void forget(String name) {
    pods.remove(name);
  }

  void start() {
    timer.scheduleAtFixedRate(this::round, 0, period.toMillis(), TimeUnit.MILLISECONDS);
  }

  Duration period() {
    return period;
  }

  /** Every round so far, oldest first. */
  synchronized List<Sample> samples() {
    return List.copyOf(samples);
  }

  /** The samples taken at or after {@code from} and before {@code to} (epoch millis). */
  List<Sample> between(long from, long to) {
    return samples().stream().filter(s -> s.at() >= from && s.at() < to).toList();
  }

  /** The index of the first sample at or after {@code from} in which {@code pod} is ready; -1 if none. */
  int firstReady(String pod, long from) {
    List<Sample> all = samples();
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).at() >= from && Boolean.TRUE.equals(all.get(i).ready().get(pod))) {
        return i;
      }
    }
    return -1;
  }

  /** The index of the first sample at or after {@code from} in which {@code pod} is not ready (or not probed); -1 if none. */
  int firstNotReady(String pod, long from) {
    List<Sample> all = samples();
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).at() >= from && !Boolean.TRUE.equals(all.get(i).ready().get(pod))) {
        return i;
      }
    }
    return -1;
  }

  /** Waits until a round that began at or after {@code from} has been recorded. */
  void awaitRoundAfter(long from) {
    org.awaitility.Awaitility.await("the kubelet records a round after " + from).atMost(Duration.ofSeconds(10))
        .pollInterval(period).until(() -> {
          List<Sample> all = samples();
          return !all.isEmpty() && all.get(all.size() - 1).at() >= from;
        });
  }

  private void round() {
    long at = System.currentTimeMillis();
    Map<String, CompletableFuture<Boolean>> probes = new LinkedHashMap<>();
    new TreeSet<>(pods.keySet()).forEach(pod -> probes.put(pod, probe(pods.get(pod))));
    Map<String, Boolean> ready = new LinkedHashMap<>();
    probes.forEach((pod, probe) -> ready.put(pod, probe.join()));
    long end = System.currentTimeMillis();
    synchronized (this) {
      samples.add(new Sample(at, end, ready));
    }
  }

  private CompletableFuture<Boolean> probe(Integer port) {
    if (port == null) {
      return CompletableFuture.completedFuture(false);
    }
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ready"))
        .timeout(PROBE_TIMEOUT).GET().build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.discarding())
        .thenApply(r -> r.statusCode() == 200)
        .exceptionally(e -> false);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
