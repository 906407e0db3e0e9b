package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationHistory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code lockstep current}: the database's schema version and which revisions the fleet runs. */
@Command(name = "current", mixinStandardHelpOptions = true,
    description = "Schema version of the database and the code revisions of the fleet (like `alembic current`).")
public final class CurrentCommand implements Callable<Integer> {
  @Mixin
  ClientOptions options;

  @Override
  public Integer call() {
    ApiClient api = options.client();
    MigrationHistory history = api.get("/v1/migrations" + options.serviceQuery('?'), MigrationHistory.class);
    List<AgentStatus> agents = AgentsCommand.fetch(api, history.service()).agents();
    Map<String, List<String>> byRevision = new TreeMap<>(agents.stream().collect(Collectors.groupingBy(
        AgentStatus::revision, Collectors.mapping(a -> a.id() + (a.state().wireName().equals("serving") ? "" : " (" + a.state().wireName() + ")"),
            Collectors.toList()))));
    if (options.json) {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("service", history.service());
      body.put("schema", history.current());
      body.put("pending", history.pending().size());
      body.put("pendingContract", history.pending().stream().filter(MigrationHistory.Entry::contract).count());
      body.put("revisions", byRevision);
      System.out.println(Json.write(body));
      return 0;
    }
    long contract = history.pending().stream().filter(MigrationHistory.Entry::contract).count();
    System.out.printf("service %s%nschema: %s%s%n", history.service(), history.current() == null ? "(empty)" : history.current(),
        history.pending().isEmpty() ? " (head)" : " (" + history.pending().size() + " pending"
            + (contract == 0 ? "" : ", " + contract + " of them contract") + ")");
    if (byRevision.isEmpty()) {
      System.out.println("fleet: no agents registered");
    }
    byRevision.forEach((revision, ids) -> System.out.printf("revision %s: %s%n", revision, String.join(", ", ids)));
    return 0;
  }
}
