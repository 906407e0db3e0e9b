package dev.lockstep.agent;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The two endpoints an agent uses, as the coordinator will serve them, with the desired state kept across a
 * stop/start on the same port (as the real one keeps it in PostgreSQL). Stands in for our own coordinator only.
 * {@link #pause()} makes it behave like a coordinator process under SIGSTOP: connections stay open and are
 * accepted, requests are read, but nothing is answered, held queries included, until {@link #resume()}.
 */
final class FakeCoordinator {
  private final Vertx vertx;
  private final String token;
  private final Object lock = new Object();
  private final List<Waiter> waiting = new ArrayList<>();
  private final List<AgentReport> reports = new CopyOnWriteArrayList<>();
  /** The request URIs of agents that left ({@code DELETE /v1/agents/{id}?service=S}). */
  private final List<String> leaves = new CopyOnWriteArrayList<>();
  private final AtomicInteger refused = new AtomicInteger();
  private final AtomicInteger desiredQueries = new AtomicInteger();
  private final AtomicInteger openDesiredQueries = new AtomicInteger();
  private final AtomicInteger mostOpenDesiredQueries = new AtomicInteger();
  /** Work a paused coordinator would have done, each on the context it belongs to; run by resume(). */
  private final List<Frozen> frozen = new ArrayList<>();
  private boolean paused;
  private DesiredState desired;
  private HttpServer server;
  private int port;

  private record Waiter(HttpServerRequest request, Context context, long timer) {}

  private record Frozen(Context context, Runnable work) {}

  FakeCoordinator(Vertx vertx, String token, String service) {
    this.vertx = vertx;
    this.token = token;
    this.desired = DesiredState.none(service);
  }

  /** Listens on {@code port}, or on a free one if 0 and none was chosen yet; a restart keeps the port. */
  Future<Void> start(int wantedPort) {
    int listenOn = wantedPort != 0 ? wantedPort : port;
    server = vertx.createHttpServer().requestHandler(this::handle);
    return server.listen(listenOn, "127.0.0.1").map(s -> {
      port = s.actualPort();
      return null;
    });
  }

  Future<Void> start() {
    return start(0);
  }

  /** Closes the server and every connection, held queries included. */
  Future<Void> stop() {
    synchronized (lock) {
      waiting.forEach(w -> vertx.cancelTimer(w.timer()));
      waiting.clear();
      frozen.clear();
      paused = false;
    }
    return server.close();
  }

  List<String> leaves() {
    return List.copyOf(leaves);
  }

  URI url() {
    return URI.create("http://127.0.0.1:" + port);
  }

  List<AgentReport> reports() {
    return reports;
  }

  AgentReport lastReport() {
    return reports.isEmpty() ? null : reports.get(reports.size() - 1);
  }

  int refusedRequests() {
    return refused.get();
  }

  /** Blocking queries received so far, answered or not. */
  int desiredQueries() {
    return desiredQueries.get();
  }

  /** Blocking queries received and neither answered nor closed by the agent. */
  int openDesiredQueries() {
    return openDesiredQueries.get();
  }

  /** The most blocking queries that were open at the same time. */
  int mostOpenDesiredQueries() {
    return mostOpenDesiredQueries.get();
  }

  /** From now on nothing is answered; requests are still read and kept, as a SIGSTOPped process's kernel does. */
  void pause() {
    synchronized (lock) {
      paused = true;
    }
  }

  /** Answers what arrived while paused (as SIGCONT would), unless the agent has closed the connection since. */
  void resume() {
    List<Frozen> thawed;
    synchronized (lock) {
      paused = false;
      thawed = List.copyOf(frozen);
      frozen.clear();
    }
    thawed.forEach(f -> f.context().runOnContext(v -> f.work().run()));
  }

  /** Runs {@code work} now, or keeps it for resume() if paused. */
  private void unlessPaused(Runnable work) {
    synchronized (lock) {
      if (paused) {
        frozen.add(new Frozen(vertx.getOrCreateContext(), work));
        return;
      }
    }
    work.run();
  }

  /** Sets a new desired state (next index) and answers every held query at once, as the coordinator does. */
  DesiredState publish(String releaseId, Phase phase, long epoch, String targetRevision) {
    return publish(new DesiredState(desired.service(), 0, epoch, releaseId, phase, targetRevision, Mode.ONLINE, null, "2"));
  }

  /** As above, with every field as given but the index, which is the next one. */
  DesiredState publish(DesiredState next) {
    List<Waiter> toAnswer;
    DesiredState now;
    synchronized (lock) {
      desired = next.withIndex(desired.index() + 1);
      now = desired;
      toAnswer = List.copyOf(waiting);
      waiting.clear();
    }
    for (Waiter waiter : toAnswer) {
      vertx.cancelTimer(waiter.timer());
      waiter.context().runOnContext(v -> answer(waiter.request(), now));
    }
    return now;
  }

  private void handle(HttpServerRequest request) {
    if (request.method() == HttpMethod.GET && request.path().matches("/v1/services/[^/]+/desired")) {
      track(request);
    }
    // Read the body now (the kernel of a paused process would buffer it too), act on it only when not paused.
    request.body().onSuccess(body -> unlessPaused(() -> {
      if (!request.response().closed()) {
        process(request, body.toString());
      }
    }));
  }

  private void track(HttpServerRequest request) {
    desiredQueries.incrementAndGet();
    mostOpenDesiredQueries.accumulateAndGet(openDesiredQueries.incrementAndGet(), Math::max);
    AtomicBoolean done = new AtomicBoolean();
    Runnable finished = () -> {
      if (done.compareAndSet(false, true)) {
        openDesiredQueries.decrementAndGet();
      }
    };
    request.response().endHandler(v -> finished.run());
    request.response().closeHandler(v -> finished.run());
  }

  private void process(HttpServerRequest request, String body) {
    if (!("Bearer " + token).equals(request.getHeader("Authorization"))) {
      refused.incrementAndGet();
      request.response().setStatusCode(401).putHeader("Content-Type", "application/json")
          .end(Json.write(new ErrorBody("unauthorized", "the agent token does not match --agent-token")));
      return;
    }
    String path = request.path();
    if (request.method() == HttpMethod.PUT && path.startsWith("/v1/agents/")) {
      reports.add(Json.read(body, AgentReport.class));
      request.response().setStatusCode(204).end();
    } else if (request.method() == HttpMethod.DELETE && path.startsWith("/v1/agents/")) {
      leaves.add(request.uri());
      request.response().setStatusCode(200).putHeader("Content-Type", "application/json").end("{}");
    } else if (request.method() == HttpMethod.GET && path.matches("/v1/services/[^/]+/desired")) {
      long index = Long.parseLong(request.getParam("index", "0"));
      long waitMs = Durations.parse(request.getParam("wait", "30s")).toMillis();
      synchronized (lock) {
        if (desired.index() != index) {
          answer(request, desired);
          return;
        }
        Context context = vertx.getOrCreateContext();
        Waiter[] self = new Waiter[1];
        long timer = vertx.setTimer(waitMs, t -> {
          DesiredState unchanged;
          synchronized (lock) {
            if (!waiting.remove(self[0])) {
              return;
            }
            unchanged = desired;
          }
          answer(request, unchanged);
        });
        self[0] = new Waiter(request, context, timer);
        waiting.add(self[0]);
      }
    } else {
      request.response().setStatusCode(404).putHeader("Content-Type", "application/json")
          .end(Json.write(new ErrorBody("not-found", request.method() + " " + path)));
    }
  }

  private void answer(HttpServerRequest request, DesiredState state) {
    unlessPaused(() -> {
      if (!request.response().ended() && !request.response().closed()) {
        request.response().putHeader("Content-Type", "application/json").end(Json.write(state));
      }
    });
  }
}
