package dev.lockstep.coordinator.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.identity.AgentTokens.AgentIdentity;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class AgentTokensTest {
  private static final String SECRET = "a-secret-of-more-than-16-bytes";
  private final AgentTokens tokens = AgentTokens.of(SECRET);

  @Test
  void aTokenNamesItsIdentityAndIsTheDocumentedHmac() throws Exception {
    String token = tokens.issue("shop", "web-1");
    String[] parts = token.split("\\.");
    assertThat(parts).hasSize(4);
    assertThat(parts[0]).isEqualTo("lsa1");
    Base64.Decoder url = Base64.getUrlDecoder();
    assertThat(new String(url.decode(parts[1]), StandardCharsets.UTF_8)).isEqualTo("shop");
    assertThat(new String(url.decode(parts[2]), StandardCharsets.UTF_8)).isEqualTo("web-1");
    // docs/reference.md states this construction, so other tools may derive the same tokens.
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    byte[] expected = mac.doFinal("lockstep-agent\nshop\nweb-1".getBytes(StandardCharsets.UTF_8));
    assertThat(HexFormat.of().formatHex(url.decode(parts[3]))).isEqualTo(HexFormat.of().formatHex(expected));
    assertThat(token).doesNotContain("=").doesNotContain(SECRET);
    assertThat(tokens.verify(token)).contains(new AgentIdentity("shop", "web-1"));
  }

  @Test
  void tokensDifferPerServiceAndPerIdAndAreStable() {
    assertThat(tokens.issue("shop", "web-1")).isEqualTo(AgentTokens.of(SECRET).issue("shop", "web-1"));
    assertThat(tokens.issue("shop", "web-1")).isNotEqualTo(tokens.issue("shop", "web-2"))
        .isNotEqualTo(tokens.issue("billing", "web-1"));
  }

  @Test
  void anotherSecretRevokesEveryToken() {
    String token = tokens.issue("shop", "web-1");
    assertThat(AgentTokens.of("another-secret-of-16-bytes+").verify(token)).isEmpty();
  }

  @Test
  void aTokenWhoseNamedIdentityWasChangedIsRefused() {
    String token = tokens.issue("shop", "web-1");
    String mac = token.substring(token.lastIndexOf('.') + 1);
    Base64.Encoder url = Base64.getUrlEncoder().withoutPadding();
    String forged = "lsa1." + url.encodeToString("shop".getBytes()) + "." + url.encodeToString("web-2".getBytes()) + "." + mac;
    assertThat(tokens.verify(forged)).isEmpty();
    String otherService = "lsa1." + url.encodeToString("billing".getBytes()) + "." + url.encodeToString("web-1".getBytes())
        + "." + mac;
    assertThat(tokens.verify(otherService)).isEmpty();
  }

  @Test
  void malformedTokensAreRefusedWithoutAnError() {
    String good = tokens.issue("shop", "web-1");
    for (String bad : new String[] {null, "", "lsa1.", "lsa1...", "lsa2" + good.substring(4), good + ".x", good.substring(0, good.length() - 2),
        good + "A", "lsa1.!!!.c2hvcA.AAAA", "lsa1.c2hvcA.d2ViLTE", good.replace("lsa1.", ""),
        "lsa1." + Base64.getUrlEncoder().withoutPadding().encodeToString("sh\nop".getBytes()) + ".d2ViLTE.AAAA"}) {
      assertThat(tokens.verify(bad)).as(String.valueOf(bad)).isEmpty();
    }
  }

  @Test
  void aShortSecretIsRefusedWithoutShowingIt() {
    assertThatThrownBy(() -> AgentTokens.of("short-secret"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("12 bytes").hasMessageContaining("at least 16").hasMessageNotContaining("short-secret");
    assertThatThrownBy(() -> AgentTokens.of(null)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void namesThatAreNoServiceOrAgentIdGetNoToken() {
    assertThatThrownBy(() -> tokens.issue("shop\nx", "web-1")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("service");
    assertThatThrownBy(() -> tokens.issue("shop", "")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("agent id");
  }
}
