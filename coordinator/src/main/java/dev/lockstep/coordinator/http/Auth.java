package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.identity.AgentCredentials;
import dev.lockstep.coordinator.identity.OperatorTokens;
import io.vertx.core.Handler;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;
import java.util.EnumSet;
import java.util.Set;

/**
 * Bearer-token check: who is calling ({@link Caller}) and whether their role may use the route. Operator
 * tokens are named ({@link OperatorTokens}); agent tokens name their (service, id)
 * ({@link dev.lockstep.coordinator.identity.AgentTokens}), or are the one shared token where that is still
 * allowed. An agent token cannot start a release or abort one. Every comparison is constant-time.
 *
 * <pre>{@code router.post("/v1/releases").handler(auth.require(Role.OPERATOR)).handler(ctx -> … Caller.of(ctx) …)}</pre>
 */
public final class Auth {
  private final OperatorTokens operators;
  private final AgentCredentials agents;
  private final AuthFailureBudget failures;

  public Auth(OperatorTokens operators, AgentCredentials agents) {
    this(operators, agents, AuthFailureBudget.of(ApiLimits.DEFAULT, java.time.Clock.systemUTC()));
  }

  /** {@code failures} slows guessing: an address out of failed authentications gets 429 before any comparison. */
  public Auth(OperatorTokens operators, AgentCredentials agents, AuthFailureBudget failures) {
    this.operators = operators;
    this.agents = agents;
    this.failures = failures;
  }

  /** A handler that lets the request through only for one of {@code allowed}, with its {@link Caller} on the context. */
  public Handler<RoutingContext> require(Role first, Role... more) {
    Set<Role> allowed = EnumSet.of(first, more);
    return ctx -> {
      String header = ctx.request().getHeader("Authorization");
      if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
        ctx.fail(new LockstepException(LockstepException.Code.UNAUTHORIZED,
            "missing bearer token; send 'Authorization: Bearer <token>' (the operator token, or the agent token for agent calls)"));
        return;
      }
      String token = header.substring(7).trim();
      String digest = AuthFailureBudget.digest(token);
      String address = address(ctx);
      String budgetKey = address == null ? "unknown" : address;
      failures.check(budgetKey, digest);
      Caller caller = identify(token, address, ctx);
      if (caller != null) {
        failures.succeeded(budgetKey, digest);
      }
      if (caller == null) {
        failures.failed(budgetKey);
        ctx.fail(new LockstepException(LockstepException.Code.UNAUTHORIZED, "unknown token"));
      } else if (!allowed.contains(caller.role())) {
        ctx.fail(new LockstepException(LockstepException.Code.FORBIDDEN,
            "the " + caller.role().name().toLowerCase() + " token may not " + ctx.request().method() + " "
                + ctx.request().path() + "; use the operator token"));
      } else {
        ctx.put(Caller.KEY, caller);
        ctx.next();
      }
    };
  }

  private Caller identify(String token, String address, RoutingContext ctx) {
    var operator = operators.nameOf(token);
    if (operator.isPresent()) {
      return Caller.operator(operatorName(operator.get(), ctx), address);
    }
    if (agents.tokens() != null) {
      var agent = agents.tokens().verify(token);
      if (agent.isPresent()) {
        return Caller.agent(agent.get(), address);
      }
    }
    return agents.isShared(token) ? Caller.sharedAgent(address) : null;
  }

  /**
   * The audit name of an operator: the token's name, and under mutual TLS also the certificate's, which names
   * a person or pipeline more surely than a token that may be shared ({@code ci-deploy (certificate alice)}).
   */
  private static String operatorName(String tokenName, RoutingContext ctx) {
    return ClientCertificate.of(ctx).filter(c -> c.agent().isEmpty())
        .map(c -> c.name().equals(tokenName) ? tokenName : tokenName + " (certificate " + c.name() + ")")
        .orElse(tokenName);
  }

  /** The connection's remote address: a forwarded-for header is written by the caller, so it proves nothing. */
  private static String address(RoutingContext ctx) {
    SocketAddress remote = ctx.request().connection() == null ? null : ctx.request().connection().remoteAddress();
    return remote == null ? null : remote.hostAddress();
  }
}
