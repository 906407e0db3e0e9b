package dev.lockstep.coordinator.identity;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Per-agent tokens derived from one secret ({@code --agent-secret}): nothing per agent is stored, and
 * rotating the secret revokes every token at once. A token names the identity it was issued for, so a
 * refusal can say whose token came for whom:
 *
 * <pre>{@code lsa1.<base64url(service)>.<base64url(id)>.<base64url(HMAC-SHA256(secret, "lockstep-agent\n" + service + "\n" + id))>}</pre>
 *
 * (Base64url without padding.) Service names and agent ids cannot hold a newline, so the MAC's input is
 * unambiguous. Verification recomputes the MAC and compares in constant time.
 *
 * <p>A service token ({@link #issueForService}) has the id {@value #ANY_ID}, which no agent id can be: it speaks for any
 * agent of its one service. It is for replicas whose ids are not known in advance (pods, named by Kubernetes), which
 * are copies of one image and trusted alike; it still cannot report for, or read, another service.
 *
 * <pre>{@code
 * AgentTokens tokens = AgentTokens.of(secret);
 * String token = tokens.issue("shop", "web-1");
 * tokens.verify(token)   // Optional[AgentIdentity[service=shop, id=web-1]]
 * }</pre>
 */
public final class AgentTokens {
  /** The version prefix of every agent token. */
  public static final String PREFIX = "lsa1.";
  /** Shorter secrets could be guessed offline from one stolen token. */
  public static final int MIN_SECRET_BYTES = 16;
  /** The id of a service token: any agent of the service. Not an agent id (ids never hold {@code *}). */
  public static final String ANY_ID = "*";
  private static final String ALGORITHM = "HmacSHA256";
  private static final String CONTEXT = "lockstep-agent\n";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._:@-]{1,128}");
  private static final Base64.Encoder ENCODE = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODE = Base64.getUrlDecoder();

  private final SecretKeySpec key;

  private AgentTokens(byte[] secret) {
    this.key = new SecretKeySpec(secret, ALGORITHM);
  }

  /**
   * The tokens of {@code secret}.
   *
   * @throws IllegalArgumentException if the secret is shorter than {@value #MIN_SECRET_BYTES} bytes (the message
   *     never shows it)
   */
  public static AgentTokens of(String secret) {
    byte[] bytes = secret == null ? new byte[0] : secret.getBytes(StandardCharsets.UTF_8);
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new IllegalArgumentException("the agent secret is " + bytes.length + " bytes; it needs at least "
          + MIN_SECRET_BYTES + " (generate one with `openssl rand -base64 32`)");
    }
    return new AgentTokens(bytes);
  }

  /** The token of agent {@code id} of {@code service}. */
  public String issue(String service, String id) {
    check("service", service);
    check("agent id", id);
    return PREFIX + encode(service) + "." + encode(id) + "." + ENCODE.encodeToString(mac(service, id));
  }

  /** The token of every agent of {@code service}, whatever its id: for pods, whose names are not known in advance. */
  public String issueForService(String service) {
    check("service", service);
    return PREFIX + encode(service) + "." + encode(ANY_ID) + "." + ENCODE.encodeToString(mac(service, ANY_ID));
  }

  /** The identity {@code token} was issued for by this secret; empty for anything else (malformed, other secret). */
  public Optional<AgentIdentity> verify(String token) {
    if (token == null || !token.startsWith(PREFIX)) {
      return Optional.empty();
    }
    String[] parts = token.substring(PREFIX.length()).split("\\.", -1);
    if (parts.length != 3) {
      return Optional.empty();
    }
    try {
      String service = new String(DECODE.decode(parts[0]), StandardCharsets.UTF_8);
      String id = new String(DECODE.decode(parts[1]), StandardCharsets.UTF_8);
      byte[] presented = DECODE.decode(parts[2]);
      if (!NAME.matcher(service).matches() || !(NAME.matcher(id).matches() || ANY_ID.equals(id))) {
        return Optional.empty();
      }
      return MessageDigest.isEqual(presented, mac(service, id)) ? Optional.of(new AgentIdentity(service, id)) : Optional.empty();
    } catch (IllegalArgumentException notBase64) {
      return Optional.empty();
    }
  }

  private byte[] mac(String service, String id) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(key);
      return mac.doFinal((CONTEXT + service + "\n" + id).getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  private static String encode(String text) {
    return ENCODE.encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }

  private static void check(String what, String value) {
    if (value == null || !NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(what + " '" + value + "' must be 1–128 letters, digits or . _ : @ -");
    }
  }

  /** Who an agent token speaks for; {@code id} is {@value #ANY_ID} for a service token. */
  public record AgentIdentity(String service, String id) {
    /** Whether it may speak for agent {@code agentId} of {@code agentService}. */
    public boolean covers(String agentService, String agentId) {
      return service.equals(agentService) && (ANY_ID.equals(id) || id.equals(agentId));
    }

    @Override
    public String toString() {
      return service + "/" + id;
    }
  }
}
