package dev.lockstep.coordinator.http;

import static dev.lockstep.coordinator.http.Responses.reply;

import dev.lockstep.coordinator.release.PendingContracts;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/services/{service}/contract}: what {@code lockstep contract} calls. Applies the contract the service's
 * latest completed release left pending (or that failed and was fixed since), once no agent runs another revision;
 * answers 200 with the release, its {@code contract} now {@code applied} or {@code failed}, or 409 naming what is in
 * the way (the agents still on another revision, a release in progress, nothing to apply). No body: what to apply is
 * the release's. Operators only.
 */
final class ContractRoutes {
  private static final Logger log = LoggerFactory.getLogger(ContractRoutes.class);
  static final String PATH = "/v1/services/:service/contract";

  private final PendingContracts contracts;
  private final Auth auth;

  ContractRoutes(PendingContracts contracts, Auth auth) {
    this.contracts = contracts;
    this.auth = auth;
  }

  void mount(Router router) {
    router.post(PATH).handler(auth.require(Role.OPERATOR)).handler(this::apply);
  }

  private void apply(RoutingContext ctx) {
    String service = Names.service("service", ctx.pathParam("service"));
    Caller caller = Caller.of(ctx);
    log.info("contract of service {} requested by {} from {}", service, caller.name(), caller.address());
    reply(ctx, 200, contracts.apply(service, caller.name(), caller.address()));
  }
}
