package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.LockstepException;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.EnumSet;
import java.util.Set;

/**
 * Bearer-token check. Two distinct tokens: the operator's and the agents'. An agent token cannot
 * start a release or abort one. Tokens are compared in constant time.
 */
public final class Auth {
  private final byte[] operatorToken;
  private final byte[] agentToken;

  public Auth(String operatorToken, String agentToken) {
    if (operatorToken.equals(agentToken)) {
      throw new IllegalArgumentException("the operator token and the agent token must differ: an agent must not be able to start releases");
    }
    this.operatorToken = operatorToken.getBytes(StandardCharsets.UTF_8);
    this.agentToken = agentToken.getBytes(StandardCharsets.UTF_8);
  }

  /** A handler that lets the request through only for one of {@code allowed}. */
  public Handler<RoutingContext> require(Role first, Role... more) {
    Set<Role> allowed = EnumSet.of(first, more);
    return ctx -> {
      String header = ctx.request().getHeader("Authorization");
      if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
        ctx.fail(new LockstepException(LockstepException.Code.UNAUTHORIZED,
            "missing bearer token; send 'Authorization: Bearer <token>' (the operator token, or the agent token for agent calls)"));
        return;
      }
      byte[] presented = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
      Role role = MessageDigest.isEqual(presented, operatorToken) ? Role.OPERATOR
          : MessageDigest.isEqual(presented, agentToken) ? Role.AGENT : null;
      if (role == null) {
        ctx.fail(new LockstepException(LockstepException.Code.UNAUTHORIZED, "unknown token"));
      } else if (!allowed.contains(role)) {
        ctx.fail(new LockstepException(LockstepException.Code.FORBIDDEN,
            "the " + role.name().toLowerCase() + " token may not " + ctx.request().method() + " " + ctx.request().path()
                + "; use the operator token"));
      } else {
        ctx.put("role", role);
        ctx.next();
      }
    };
  }
}
