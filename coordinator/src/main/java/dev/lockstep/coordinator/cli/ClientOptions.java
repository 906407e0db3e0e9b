package dev.lockstep.coordinator.cli;

import picocli.CommandLine.Option;

/** The options every operator command shares: where the coordinator is, the token, JSON output. */
public final class ClientOptions {
  @Option(names = "--coordinator", defaultValue = "${env:LOCKSTEP_COORDINATOR:-http://127.0.0.1:7070}",
      description = "coordinator URL (env LOCKSTEP_COORDINATOR, default http://127.0.0.1:7070)")
  String coordinator;

  @Option(names = "--token", defaultValue = "${env:LOCKSTEP_TOKEN}", description = "operator token (env LOCKSTEP_TOKEN)")
  String token;

  @Option(names = "--json", description = "print machine-readable JSON")
  boolean json;

  @Option(names = "--service", defaultValue = "${env:LOCKSTEP_SERVICE}",
      description = "the service (env LOCKSTEP_SERVICE); default: the coordinator's own. A coordinator manages one"
          + " service: naming another is refused, so a script never acts on the wrong one")
  String service;

  /** {@code ?service=S} (or {@code &service=S} after {@code separator}), or nothing without {@code --service}. */
  String serviceQuery(char separator) {
    return service == null || service.isBlank() ? ""
        : separator + "service=" + java.net.URLEncoder.encode(service, java.nio.charset.StandardCharsets.UTF_8);
  }

  ApiClient client() {
    if (token == null || token.isBlank()) {
      throw new CliException(2, "missing --token (or LOCKSTEP_TOKEN): the operator token the coordinator was started with");
    }
    return new ApiClient(coordinator, token);
  }
}
