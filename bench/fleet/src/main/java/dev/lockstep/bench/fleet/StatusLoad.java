package dev.lockstep.bench.fleet;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * A dashboard's load on the status API: {@code clients} callers, each sending its next request as soon as the last one
 * was answered, for {@code seconds}. Each request's latency is recorded (a paged listing counts as one request: reading
 * the whole fleet); a failed one counts as an error.
 *
 * @param latencies what the requests took
 * @param seconds the wall time from the first request to the last answer
 */
public record StatusLoad(Latencies latencies, double seconds) {
  /**
   * An answer that knows when its last byte arrived: the request's latency ends there, not after the bench has read
   * it (the bench's own parsing is not the coordinator's latency).
   */
  public interface Timed {
    long answeredNanos();
  }

  public double throughput() {
    return latencies.values().length / seconds;
  }

  public static Future<StatusLoad> run(int clients, double seconds, Supplier<Future<?>> request) {
    Latencies latencies = new Latencies();
    long start = System.nanoTime();
    long deadline = start + (long) (seconds * 1e9);
    List<Future<Void>> loops = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      Promise<Void> done = Promise.promise();
      loop(request, latencies, deadline, done);
      loops.add(done.future());
    }
    return Future.join(loops).map(v -> new StatusLoad(latencies, (System.nanoTime() - start) / 1e9));
  }

  private static void loop(Supplier<Future<?>> request, Latencies latencies, long deadline, Promise<Void> done) {
    if (System.nanoTime() >= deadline) {
      done.complete();
      return;
    }
    long sent = System.nanoTime();
    request.get().onComplete(ar -> {
      if (ar.succeeded()) {
        long answered = ar.result() instanceof Timed t && t.answeredNanos() > 0 ? t.answeredNanos() : System.nanoTime();
        latencies.record((answered - sent) / 1e6);
      } else if (String.valueOf(ar.cause().getMessage()).toLowerCase().contains("timeout")) {
        latencies.timeout();
      } else {
        latencies.error();
      }
      loop(request, latencies, deadline, done);
    });
  }
}
