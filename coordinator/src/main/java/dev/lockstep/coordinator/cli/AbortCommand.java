package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.ReleaseDocument;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code lockstep abort ID}: abort a release that has not begun to change the schema. */
@Command(name = "abort", mixinStandardHelpOptions = true,
    description = "Abort a release that has not committed a schema change (PLANNED, PREFLIGHT or PREPARING).")
public final class AbortCommand implements Callable<Integer> {
  @Mixin
  ClientOptions options;

  @Parameters(index = "0", paramLabel = "ID", description = "the release id")
  String id;

  @Override
  public Integer call() {
    ApiClient api = options.client();
    if (options.service != null && !options.service.isBlank()) {
      // Checked before anything is asked: an abort meant for one service must never stop another's release.
      ReleaseDocument target = api.get("/v1/releases/" + id, ReleaseDocument.class);
      if (!options.service.equals(target.service())) {
        throw new CliException(2, "release " + id + " is of service " + target.service() + ", not " + options.service
            + "; nothing was aborted");
      }
    }
    ReleaseDocument doc = api.post("/v1/releases/" + id + "/abort", null, ReleaseDocument.class);
    System.out.println(options.json ? Json.write(doc)
        : "abort requested for release " + id + " (was " + doc.phase() + "); agents that prepared will run their abort hook");
    return 0;
  }
}
