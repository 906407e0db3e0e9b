package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.identity.AgentTokens;
import io.vertx.ext.web.RoutingContext;

/**
 * Who a request counts against for the per-identity limits ({@link StreamSlots}): the {@link Caller}'s role
 * and name, i.e. an operator token's name ({@code operator} for {@code --token}, {@code ci-deploy}) or an
 * agent's (service, id) ({@code app/web-3}); never a token. Errors name it as the name alone, the way the
 * audit does: "identity ci-deploy already has 8 event streams open".
 *
 * <p>A token of a whole service ({@code lockstep agent-token --any-id}) is every pod's: there the identity is the
 * agent id the blocking query names ({@code ?agent=web-7}), so each pod has its own slots as with a token of its own.
 *
 * <p>{@code shared} marks the one agent token the whole fleet may share behind
 * {@code --allow-shared-agent-token}: every agent presents it, so a cap sized for one agent would refuse the
 * fleet, and it is not capped per identity.
 *
 * <pre>{@code CallerKey key = CallerKey.of(ctx); // after Auth let the request through: app/web-3}</pre>
 */
public record CallerKey(Role role, String name, boolean shared) {

  /** The identity of a request {@link Auth} has let through (it put the {@link Caller} on the context). */
  public static CallerKey of(RoutingContext ctx) {
    Caller caller = Caller.of(ctx);
    if (AgentTokens.ANY_ID.equals(caller.id())) {
      // A token of the whole service is every pod's: each agent counts as itself, by the id it says it is
      // (?agent= on the blocking query), as it would with a token of its own.
      String agent = ctx.request().getParam("agent");
      String id = agent == null ? AgentTokens.ANY_ID : Names.agentId("query parameter agent", agent);
      return new CallerKey(caller.role(), caller.service() + "/" + id, false);
    }
    // Only the shared agent token is an agent without a (service, id) of its own.
    return new CallerKey(caller.role(), caller.name(), caller.role() == Role.AGENT && caller.service() == null);
  }

  @Override
  public String toString() {
    return name;
  }
}
