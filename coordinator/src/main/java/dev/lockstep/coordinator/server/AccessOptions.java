package dev.lockstep.coordinator.server;

import dev.lockstep.coordinator.identity.AgentCredentials;
import dev.lockstep.coordinator.identity.OperatorTokens;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Who may call {@code serve}: the operators' tokens and the agents' secret or shared token.
 */
public final class AccessOptions {
  @Option(names = "--token", defaultValue = "${env:LOCKSTEP_TOKEN}",
      description = "an operator token, named 'operator' in the audit; this or --token-file is required (env LOCKSTEP_TOKEN)")
  String token;

  @Option(names = "--token-file", paramLabel = "PATH", defaultValue = "${env:LOCKSTEP_TOKEN_FILE}",
      description = "operator tokens, one 'name:token' or 'name:sha256:<hex>' a line (# comments); the audit names"
          + " the token's name (env LOCKSTEP_TOKEN_FILE)")
  Path tokenFile;

  @Option(names = "--agent-secret", defaultValue = "${env:LOCKSTEP_AGENT_SECRET}",
      description = "secret (16 bytes or more) each agent's own token is derived from; `lockstep agent-token` prints"
          + " one; required unless --agent-secret-file (env LOCKSTEP_AGENT_SECRET)")
  String agentSecret;

  @Option(names = "--agent-secret-file", paramLabel = "PATH", defaultValue = "${env:LOCKSTEP_AGENT_SECRET_FILE}",
      description = "file holding the agent secret, instead of --agent-secret (env LOCKSTEP_AGENT_SECRET_FILE)")
  Path agentSecretFile;

  @Option(names = "--agent-token", defaultValue = "${env:LOCKSTEP_AGENT_TOKEN}",
      description = "one token all agents share, for upgrades; only with --allow-shared-agent-token"
          + " (env LOCKSTEP_AGENT_TOKEN)")
  String agentToken;

  @Option(names = "--allow-shared-agent-token", defaultValue = "${env:LOCKSTEP_ALLOW_SHARED_AGENT_TOKEN:-false}",
      description = "accept --agent-token, with which any agent can report for any other (env LOCKSTEP_ALLOW_SHARED_AGENT_TOKEN)")
  boolean allowSharedAgentToken;


  OperatorTokens operators() {
    return OperatorTokens.load(token, tokenFile);
  }

  /** The agents' credentials; none may equal an operator's token. */
  AgentCredentials agents(OperatorTokens operators) {
    return AgentCredentials.load(agentSecret, agentSecretFile, agentToken, allowSharedAgentToken, operators);
  }
}
