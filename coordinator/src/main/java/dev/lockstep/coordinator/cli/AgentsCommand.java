package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code lockstep agents}: every agent, its revision, state and when it was last seen. */
@Command(name = "agents", mixinStandardHelpOptions = true, description = "List the fleet: each agent's revision, state, last seen.")
public final class AgentsCommand implements Callable<Integer> {
  @Mixin
  ClientOptions options;


  /** The JSON shape of {@code GET /v1/agents}. */
  public record AgentList(List<AgentStatus> agents) {}

  @Override
  public Integer call() {
    AgentList list = fetch(options.client(), options.service);
    if (options.json) {
      System.out.println(Json.write(list));
    } else {
      print(list);
    }
    return 0;
  }

  static AgentList fetch(ApiClient api, String service) {
    String query = service == null ? "" : "?service=" + URLEncoder.encode(service, StandardCharsets.UTF_8);
    return api.get("/v1/agents" + query, AgentList.class);
  }

  static void print(AgentList list) {
    if (list.agents().isEmpty()) {
      System.out.println("no agents registered");
      return;
    }
    // Readiness mode adds what the platform's probe hears: ready, not ready, or nothing (a long-lived server).
    boolean readiness = list.agents().stream().anyMatch(AgentStatus::readinessMode);
    Table t = readiness ? new Table("AGENT", "SERVICE", "REVISION", "STATE", "READY", "RELEASE", "LAST SEEN")
        : new Table("AGENT", "SERVICE", "REVISION", "STATE", "RELEASE", "LAST SEEN");
    for (AgentStatus a : list.agents()) {
      if (readiness) {
        t.row(a.id(), a.service(), a.revision(), a.state().wireName(),
            a.ready() == null ? "-" : a.ready() ? "yes" : "no", a.releaseId(), a.lastSeen());
      } else {
        t.row(a.id(), a.service(), a.revision(), a.state().wireName(), a.releaseId(), a.lastSeen());
      }
    }
    t.print(System.out);
  }
}
