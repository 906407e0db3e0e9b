package dev.lockstep.coordinator.cli;

import picocli.CommandLine.Option;

/** The options every operator command shares: where the coordinator is, the token, JSON output. */
public final class ClientOptions {
  @Option(names = "--coordinator", defaultValue = "${env:LOCKSTEP_COORDINATOR:-http://127.0.0.1:7070}",
      description = "coordinator URL (env LOCKSTEP_COORDINATOR, default http://127.0.0.1:7070)")
  String coordinator;

  @Option(names = "--ca-cert", defaultValue = "${env:LOCKSTEP_CA_CERT}",
      description = "PEM CA certificate to trust for an https:// coordinator (env LOCKSTEP_CA_CERT; default: the JVM's"
          + " trust store)")
  java.nio.file.Path caCert;

  @Option(names = "--client-cert", defaultValue = "${env:LOCKSTEP_CLIENT_CERT}",
      description = "PEM client certificate to present where the coordinator requires mutual TLS (env LOCKSTEP_CLIENT_CERT)")
  java.nio.file.Path clientCert;

  @Option(names = "--client-key", defaultValue = "${env:LOCKSTEP_CLIENT_KEY}",
      description = "PEM private key of --client-cert (env LOCKSTEP_CLIENT_KEY)")
  java.nio.file.Path clientKey;

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
    return new ApiClient(coordinator, token, CliTls.context(caCert, clientCert, clientKey));
  }
}
