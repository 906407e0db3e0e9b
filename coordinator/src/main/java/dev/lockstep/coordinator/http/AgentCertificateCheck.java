package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.protocol.AgentReport;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Optional;

/**
 * Under mutual TLS, an agent's requests must come with that agent's own certificate: a report
 * ({@code PUT /v1/agents/{id}}, the path id with the body's {@code service}) only for the (service, id) its
 * certificate names ({@link ClientCertificate}), and the desired state only of its own service. Anything
 * else is a 403 naming both the certificate's agent and the one asked for; a certificate that names no
 * agent (an operator's) may not act as one. Mounted ahead of the agent routes; the bearer token is still
 * checked after it. Without a client certificate (plain HTTP, or TLS without {@code --tls-client-ca}) it
 * lets the request through: the TLS layer already refuses connections without one under mutual TLS.
 *
 * <pre>{@code
 * new AgentCertificateCheck().mount(router);   // before new AgentRoutes(…).mount(router)
 * }</pre>
 */
final class AgentCertificateCheck {

  void mount(Router router) {
    router.put("/v1/agents/:id").handler(this::report);
    router.get("/v1/services/:service/desired").handler(this::desired);
  }

  private void report(RoutingContext ctx) {
    Optional<ClientCertificate> cert = ClientCertificate.of(ctx);
    if (cert.isEmpty()) {
      ctx.next();
      return;
    }
    String id = Names.agentId("agent id", ctx.pathParam("id"));
    // Read as AgentRoutes reads it, so both see the same service.
    AgentReport report = Responses.body(ctx, AgentReport.class);
    String service = Names.service("field 'service' of the report of agent " + id, report.service());
    ClientCertificate.Agent asked = new ClientCertificate.Agent(service, id);
    ClientCertificate.Agent own = agentOf(cert.get(), "report for " + asked);
    if (!own.equals(asked)) {
      throw forbidden("the client certificate of " + own + " may not report for " + asked
          + "; an agent reports only for itself (certificate " + cert.get().subject() + ")");
    }
    ctx.next();
  }

  private void desired(RoutingContext ctx) {
    Optional<ClientCertificate> cert = ClientCertificate.of(ctx);
    if (cert.isEmpty()) {
      ctx.next();
      return;
    }
    String service = Names.service("service", ctx.pathParam("service"));
    ClientCertificate.Agent own = agentOf(cert.get(), "read the desired state of service " + service);
    if (!own.service().equals(service)) {
      throw forbidden("the client certificate of " + own + " may not read the desired state of service " + service
          + ", only of its own service " + own.service() + " (certificate " + cert.get().subject() + ")");
    }
    ctx.next();
  }

  private static ClientCertificate.Agent agentOf(ClientCertificate cert, String wanted) {
    return cert.agent().orElseThrow(() -> forbidden("client certificate " + cert.subject() + " names no agent (no URI name "
        + ClientCertificate.AGENT_URI_PREFIX + "<service>/<id>), so it may not " + wanted
        + "; an agent connects with its own certificate"));
  }

  private static LockstepException forbidden(String message) {
    return new LockstepException(LockstepException.Code.FORBIDDEN, message);
  }
}
