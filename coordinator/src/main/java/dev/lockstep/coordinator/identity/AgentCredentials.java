package dev.lockstep.coordinator.identity;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * How agents prove who they are: per-agent tokens derived from {@code --agent-secret} (or the file of
 * {@code --agent-secret-file}), and, only with {@code --allow-shared-agent-token}, the old single
 * {@code --agent-token} that lets any agent report for any other (for upgrades). Either or both.
 *
 * @param tokens the per-agent tokens; null without an agent secret
 * @param sharedDigest SHA-256 of the shared agent token; null without one
 */
public record AgentCredentials(AgentTokens tokens, byte[] sharedDigest) {

  /**
   * Resolves the agent flags of {@code serve}, refusing what cannot be meant.
   *
   * @throws IllegalArgumentException with one line saying what to do; never showing a secret
   */
  public static AgentCredentials load(String secret, Path secretFile, String sharedToken, boolean allowShared,
                                      OperatorTokens operators) {
    String agentSecret = secretOf(secret, secretFile, "--agent-secret").orElse(null);
    AgentTokens tokens = agentSecret == null ? null : AgentTokens.of(agentSecret);
    boolean shared = sharedToken != null && !sharedToken.isBlank();
    if (shared && !allowShared) {
      throw new IllegalArgumentException("--agent-token is one token every agent shares, so any agent could report for"
          + " any other; give --agent-secret (or --agent-secret-file) and hand each agent its own token from"
          + " `lockstep agent-token --service S --id ID`, or add --allow-shared-agent-token while you upgrade");
    }
    if (tokens == null && !shared) {
      throw new IllegalArgumentException("missing --agent-secret (or LOCKSTEP_AGENT_SECRET, or --agent-secret-file):"
          + " the secret agents' tokens are derived from (`lockstep agent-token --service S --id ID` prints one)");
    }
    if (agentSecret != null && operators.nameOf(agentSecret).isPresent()) {
      throw new IllegalArgumentException("the agent secret is the same as operator token '"
          + operators.nameOf(agentSecret).get() + "'; they must differ, or agents could start releases");
    }
    if (shared && operators.nameOf(sharedToken.trim()).isPresent()) {
      throw new IllegalArgumentException("the agent token is the same as operator token '"
          + operators.nameOf(sharedToken.trim()).get() + "'; they must differ, or agents could start releases");
    }
    return new AgentCredentials(tokens, shared ? OperatorTokens.sha256(sharedToken.trim()) : null);
  }

  /**
   * The agent secret of {@code --agent-secret} or {@code --agent-secret-file} (the file's content less
   * surrounding white space), if one is given; both at once is refused.
   */
  public static Optional<String> secretOf(String secret, Path file, String flag) {
    boolean inline = secret != null && !secret.isBlank();
    if (inline && file != null) {
      throw new IllegalArgumentException("give " + flag + " or " + flag + "-file, not both");
    }
    if (inline) {
      return Optional.of(secret.strip());
    }
    if (file == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Files.readString(file, StandardCharsets.UTF_8).strip());
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("agent secret file " + file + " does not exist");
    } catch (IOException e) {
      throw new IllegalArgumentException("agent secret file " + file + " cannot be read: " + e.getMessage());
    }
  }

  public boolean allowsShared() {
    return sharedDigest != null;
  }

  /** True if {@code presented} is the shared agent token (constant time). */
  public boolean isShared(String presented) {
    return sharedDigest != null && MessageDigest.isEqual(sharedDigest, OperatorTokens.sha256(presented));
  }
}
