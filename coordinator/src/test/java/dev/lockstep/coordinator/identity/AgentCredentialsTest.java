package dev.lockstep.coordinator.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentCredentialsTest {
  private static final String SECRET = "agent-secret-of-some-length";
  private static final OperatorTokens OPERATORS = OperatorTokens.load("op-token-123", null);

  @TempDir
  Path dir;

  @Test
  void aSecretGivesPerAgentTokensAndNoSharedOne() {
    AgentCredentials c = AgentCredentials.load(SECRET, null, null, false, OPERATORS);
    assertThat(c.allowsShared()).isFalse();
    assertThat(c.tokens().verify(AgentTokens.of(SECRET).issue("shop", "web-1"))).isPresent();
    assertThat(c.isShared("anything")).isFalse();
  }

  @Test
  void theSecretMayComeFromAFileLessItsNewline() throws IOException {
    Path file = Files.writeString(dir.resolve("secret"), SECRET + "\n");
    AgentCredentials c = AgentCredentials.load(null, file, null, false, OPERATORS);
    assertThat(c.tokens().verify(AgentTokens.of(SECRET).issue("shop", "web-1"))).isPresent();
    assertThatThrownBy(() -> AgentCredentials.load(SECRET, file, null, false, OPERATORS)).hasMessageContaining("not both");
    assertThatThrownBy(() -> AgentCredentials.load(null, dir.resolve("nope"), null, false, OPERATORS))
        .hasMessageContaining("does not exist");
  }

  @Test
  void theSharedTokenAloneIsRefusedSayingWhatToDo() {
    assertThatThrownBy(() -> AgentCredentials.load(null, null, "shared-token", false, OPERATORS))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--agent-secret").hasMessageContaining("--allow-shared-agent-token")
        .hasMessageContaining("lockstep agent-token").hasMessageNotContaining("shared-token")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void theSharedTokenWorksOnlyWithTheFlag() {
    AgentCredentials c = AgentCredentials.load(null, null, "shared-token", true, OPERATORS);
    assertThat(c.allowsShared()).isTrue();
    assertThat(c.tokens()).isNull();
    assertThat(c.isShared("shared-token")).isTrue();
    assertThat(c.isShared("shared-token2")).isFalse();
    AgentCredentials both = AgentCredentials.load(SECRET, null, "shared-token", true, OPERATORS);
    assertThat(both.tokens()).isNotNull();
    assertThat(both.isShared("shared-token")).isTrue();
  }

  @Test
  void someAgentCredentialIsRequired() {
    assertThatThrownBy(() -> AgentCredentials.load(null, null, null, false, OPERATORS))
        .hasMessageContaining("missing --agent-secret");
    assertThatThrownBy(() -> AgentCredentials.load(null, null, null, true, OPERATORS))
        .hasMessageContaining("missing --agent-secret");
  }

  @Test
  void operatorAndAgentCredentialsMustDiffer() {
    assertThatThrownBy(() -> AgentCredentials.load(null, null, "op-token-123", true, OPERATORS))
        .hasMessageContaining("same as operator token 'operator'").hasMessageNotContaining("op-token-123");
    OperatorTokens longOne = OperatorTokens.load(SECRET, null);
    assertThatThrownBy(() -> AgentCredentials.load(SECRET, null, null, false, longOne))
        .hasMessageContaining("agent secret is the same as operator token 'operator'").hasMessageNotContaining(SECRET);
  }
}
