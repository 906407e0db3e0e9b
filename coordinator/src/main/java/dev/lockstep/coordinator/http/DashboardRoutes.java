package dev.lockstep.coordinator.http;

import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The dashboard: {@code GET /} and its files under {@code /dashboard/}, static resources shipped in
 * the jar (no build step, nothing fetched from elsewhere). The files carry no data and need no
 * token; the page asks the operator for the token and sends it as a bearer header on every API
 * call, so the dashboard sees exactly what the operator token may see.
 *
 * <pre>{@code
 * new DashboardRoutes().mount(router);   // then open http://coordinator:7070/
 * }</pre>
 */
final class DashboardRoutes {
  /** Same-origin only: no inline script, no CDN, no framing; the token never leaves for another host. */
  private static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self';"
      + " img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  void mount(Router router) {
    StaticHandler files = StaticHandler.create("dashboard").setCachingEnabled(false).setDirectoryListing(false)
        .setIndexPage("index.html");
    router.get("/").handler(DashboardRoutes::headers).handler(files);
    router.get("/dashboard/*").handler(DashboardRoutes::headers).handler(files);
  }

  private static void headers(RoutingContext ctx) {
    ctx.response()
        .putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Referrer-Policy", "no-referrer")
        .putHeader("Cache-Control", "no-cache");
    ctx.next();
  }
}
