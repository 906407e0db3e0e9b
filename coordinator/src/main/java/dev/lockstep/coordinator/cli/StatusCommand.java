package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.ReleaseDocument;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code lockstep status}: the fleet and the latest release. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show the fleet and the latest release.")
public final class StatusCommand implements Callable<Integer> {
  @Mixin
  ClientOptions options;


  /** The JSON shape of {@code GET /v1/releases}. */
  public record ReleaseList(List<ReleaseDocument> releases) {}

  @Override
  public Integer call() {
    ApiClient api = options.client();
    AgentsCommand.AgentList agents = AgentsCommand.fetch(api, options.service);
    String only = options.serviceQuery('&');
    ReleaseList releases = api.get("/v1/releases?limit=1" + only, ReleaseList.class);
    ReleaseDocument latest = releases.releases().isEmpty() ? null : releases.releases().get(0);
    if (options.json) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("agents", agents.agents());
      body.put("latestRelease", latest);
      System.out.println(Json.write(body));
      return 0;
    }
    AgentsCommand.print(agents);
    if (latest == null) {
      System.out.println("\nno releases yet");
    } else {
      ReleaseCommand.summary(System.out, latest);
    }
    return 0;
  }
}
