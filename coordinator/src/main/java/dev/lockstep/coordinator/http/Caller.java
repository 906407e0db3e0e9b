package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.identity.AgentTokens.AgentIdentity;
import io.vertx.ext.web.RoutingContext;
import java.util.Objects;

/**
 * Who sent a request, as {@link Auth} established it and put it on the {@link RoutingContext}: the one
 * place the audit ({@code requestedBy}, {@code requestedFrom}) and the agents' "only for yourself" rule
 * read it from. A certificate identity (mutual TLS) fills the same record.
 *
 * @param name the operator token's name ({@code operator} for {@code --token}); for an agent {@code service/id},
 *     or {@value #SHARED} for the shared agent token
 * @param role operator or agent
 * @param service the agent's service; null for operators and the shared agent token (which may speak for anyone)
 * @param id the agent's id; null likewise
 * @param address the remote address of the connection (never a forwarded-for header, which the caller writes)
 */
public record Caller(String name, Role role, String service, String id, String address) {
  static final String KEY = "lockstep.caller";
  static final String SHARED = "shared agent token";

  static Caller operator(String name, String address) {
    return new Caller(name, Role.OPERATOR, null, null, address);
  }

  static Caller agent(AgentIdentity identity, String address) {
    return new Caller(identity.toString(), Role.AGENT, identity.service(), identity.id(), address);
  }

  static Caller sharedAgent(String address) {
    return new Caller(SHARED, Role.AGENT, null, null, address);
  }

  /** The caller {@link Auth} let through on this request. */
  static Caller of(RoutingContext ctx) {
    return Objects.requireNonNull(ctx.get(KEY), "no caller: the route has no Auth handler in front of it");
  }

  /** Refuses an agent token of another (service, id): an agent may report only for itself. */
  void mayReportFor(String service, String id) {
    if (bound() && !new AgentIdentity(this.service, this.id).covers(service, id)) {
      throw new LockstepException(LockstepException.Code.FORBIDDEN, "agent token of " + name + " may not report for "
          + service + "/" + id + "; each agent reports with its own token (`lockstep agent-token --service "
          + service + " --id " + id + "`, or for pods `--any-id`, a token of the whole service)");
    }
  }

  /** Refuses an agent token of another service: an agent reads only its own service's desired state. */
  void mayReadDesiredStateOf(String service) {
    if (bound() && !this.service.equals(service)) {
      throw new LockstepException(LockstepException.Code.FORBIDDEN, "agent token of " + name
          + " may not read the desired state of service " + service + "; it is a token of service " + this.service);
    }
  }

  /** An agent token bound to one (service, id); operators and the shared agent token are not. */
  private boolean bound() {
    return role == Role.AGENT && service != null;
  }

  @Override
  public String toString() {
    return name + " from " + address;
  }
}
