package dev.lockstep.bench.fleet;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Each simulated agent's own token, as {@code lockstep agent-token --service S --id ID} prints it (docs/reference.md,
 * "Agent identity"): computed here because thousands of CLI JVMs would take minutes. The bench checks the first one
 * against the real command before it uses any.
 */
final class AgentTokens {
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private final Mac mac;

  AgentTokens(String secret) {
    try {
      mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 missing from this JVM", e);
    }
  }

  synchronized String token(String service, String id) {
    byte[] tag = mac.doFinal(("lockstep-agent\n" + service + "\n" + id).getBytes(StandardCharsets.UTF_8));
    return "lsa1." + b64(service) + "." + b64(id) + "." + B64.encodeToString(tag);
  }

  private static String b64(String text) {
    return B64.encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }
}
