package dev.lockstep.coordinator.cli;

import dev.lockstep.coordinator.identity.AgentCredentials;
import dev.lockstep.coordinator.identity.AgentTokens;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lockstep agent-token --service S --id ID}: prints the token of one agent, derived from the
 * coordinator's agent secret, and nothing else on stdout, so it can go straight into the agent's
 * {@code --token} (or {@code LOCKSTEP_AGENT_TOKEN}). It needs the secret, not the coordinator: nothing per agent
 * is stored, and rotating the secret revokes every token.
 *
 * <pre>{@code LOCKSTEP_AGENT_TOKEN=$(lockstep agent-token --service shop --id web-1 --agent-secret-file /etc/lockstep/agent-secret)}</pre>
 */
@Command(name = "agent-token", mixinStandardHelpOptions = true,
    description = "Print the token of one agent (service and id), or with --any-id of every agent of a service (pods),"
        + " derived from the coordinator's agent secret.")
public final class AgentTokenCommand implements Callable<Integer> {
  @Option(names = "--service", required = true, description = "the agent's service")
  String service;

  @Option(names = "--id", description = "the agent's id (the agent's --id; its default is the host name)")
  String id;

  @Option(names = "--any-id", description = "a token of the whole service, valid for any agent id of it: for pods,"
      + " whose names (the agents' default ids) are not known in advance")
  boolean anyId;

  @Option(names = "--agent-secret", defaultValue = "${env:LOCKSTEP_AGENT_SECRET}",
      description = "the coordinator's agent secret (env LOCKSTEP_AGENT_SECRET)")
  String agentSecret;

  @Option(names = "--agent-secret-file", paramLabel = "PATH", defaultValue = "${env:LOCKSTEP_AGENT_SECRET_FILE}",
      description = "file holding the agent secret, instead of --agent-secret (env LOCKSTEP_AGENT_SECRET_FILE)")
  Path agentSecretFile;

  @Override
  public Integer call() {
    String secret = AgentCredentials.secretOf(agentSecret, agentSecretFile, "--agent-secret").orElseThrow(() ->
        new CliException(2, "missing --agent-secret (or LOCKSTEP_AGENT_SECRET, or --agent-secret-file): the secret the"
            + " coordinator was started with"));
    if (anyId == (id != null)) {
      throw new CliException(2, anyId ? "give --id or --any-id, not both"
          : "missing --id ID (the agent's id), or --any-id for a token of the whole service");
    }
    AgentTokens tokens = AgentTokens.of(secret);
    System.out.println(anyId ? tokens.issueForService(service) : tokens.issue(service, id));
    return 0;
  }
}
