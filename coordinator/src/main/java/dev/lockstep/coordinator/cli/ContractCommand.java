package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.ContractState;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.ReleaseDocument;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code lockstep contract [--service S]}: applies the contract migrations a release left pending (the old code was
 * still there when CONTRACTING gave up waiting, or {@code release --contract defer}), once no agent runs another
 * revision. GitLab's post-deployment migrations, run by hand — except that the coordinator checks the fleet first and
 * refuses, naming the agents, while old code is still there.
 */
@Command(name = "contract", mixinStandardHelpOptions = true,
    description = "Apply a service's pending contract migrations once no agent runs another revision.")
public final class ContractCommand implements Callable<Integer> {
  @Mixin
  ClientOptions options;

  @Override
  public Integer call() {
    ApiClient api = options.client();
    String service = options.service != null && !options.service.isBlank() ? options.service : coordinatorsService(api);
    ReleaseDocument doc = api.post("/v1/services/" + URLEncoder.encode(service, StandardCharsets.UTF_8) + "/contract", null,
        ReleaseDocument.class);
    if (options.json) {
      System.out.println(Json.write(doc));
    } else {
      System.out.printf("release %s (revision %s): contract %s%n", doc.id(), doc.revision(),
          doc.contract().state().wireName());
      ReleaseCommand.contract(System.out, doc);
    }
    return doc.contract().state() == ContractState.APPLIED ? 0 : 1;
  }

  /** The service the coordinator manages, as {@code /health} names it. */
  private static String coordinatorsService(ApiClient api) {
    Object service = api.get("/health", java.util.Map.class).get("service");
    if (!(service instanceof String name) || name.isBlank()) {
      throw new CliException(2, "the coordinator did not say which service it manages; give --service S");
    }
    return name;
  }
}
