package dev.lockstep.bench.fleet;

import dev.lockstep.agent.CoordinatorClient;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Thousands of {@link SimulatedAgent}s in this JVM, on one Vert.x instance: agents are split over a few verticles
 * (one context each), and each agent has its own {@link CoordinatorClient}, hence its own connections, as a real agent
 * on its own server has. With several coordinator instances, agent {@code i} is given all their URLs starting at
 * instance {@code i mod n}: the fleet is split across them, and each agent fails over to the others as a real one does.
 */
public final class SimulatedFleet {
  private final Vertx vertx;
  private final List<Group> groups = new ArrayList<>();
  private final FleetProbe probe;
  private long startedNanos;

  /**
   * @param ids agent ids, in order; the index of an id is its index in the {@link FleetProbe}
   */
  public SimulatedFleet(Vertx vertx, List<URI> coordinators, String service, List<String> ids, String revision,
                        String stagedDigest, AgentTokens tokens, Duration reportInterval, Duration pollWait,
                        FleetProbe probe, int groupCount) {
    this.vertx = vertx;
    this.probe = probe;
    for (int g = 0; g < groupCount; g++) {
      groups.add(new Group());
    }
    for (int i = 0; i < ids.size(); i++) {
      int agent = i;
      List<URI> urls = new ArrayList<>();
      for (int k = 0; k < coordinators.size(); k++) {
        urls.add(coordinators.get((i + k) % coordinators.size()));
      }
      String id = ids.get(i);
      String token = tokens.token(service, id);
      groups.get(i % groupCount).plans.add(group -> new SimulatedAgent(vertx, agent, id, service, revision,
          stagedDigest, reportInterval, pollWait, new CoordinatorClient(vertx, urls, token, Clock.systemUTC()), probe));
    }
  }

  /** Deploys the groups and creates every agent's client; nothing is sent yet. */
  public Future<Void> deploy() {
    List<Future<String>> deployed = new ArrayList<>();
    for (Group group : groups) {
      deployed.add(vertx.deployVerticle(group));
    }
    return Future.all(deployed).mapEmpty();
  }

  /** Starts every agent at once, as a whole fleet restarting: all first reports and blocking queries together. */
  public void startAll() {
    startedNanos = System.nanoTime();
    groups.forEach(g -> g.context.runOnContext(v -> g.agents.forEach(SimulatedAgent::start)));
  }

  public long startedNanos() {
    return startedNanos;
  }

  public FleetProbe probe() {
    return probe;
  }

  public Future<Void> stop() {
    List<Future<Void>> stopped = new ArrayList<>();
    for (Group g : groups) {
      stopped.add(Future.future(p -> g.context.runOnContext(v -> {
        g.agents.forEach(SimulatedAgent::stop);
        p.complete();
      })));
    }
    return Future.all(stopped).mapEmpty();
  }

  /** A slice of the fleet on one context. */
  private static final class Group extends VerticleBase {
    final List<java.util.function.Function<Group, SimulatedAgent>> plans = new ArrayList<>();
    final List<SimulatedAgent> agents = new ArrayList<>();
    Context context;

    @Override
    public Future<?> start() {
      this.context = super.context;
      plans.forEach(plan -> agents.add(plan.apply(this)));
      plans.clear();
      return Future.succeededFuture();
    }
  }
}
