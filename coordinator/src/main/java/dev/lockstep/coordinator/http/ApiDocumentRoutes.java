package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.fleet.SharedReads;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.io.InputStream;

/**
 * {@code GET /openapi.yaml}, without a token: the OpenAPI 3 document of every route, shipped in the jar
 * as the resource {@value #RESOURCE} and kept equal to the router by {@code ApiDocumentTest}.
 *
 * <pre>{@code
 * new ApiDocumentRoutes(vertx).mount(router);   // curl http://coordinator:7070/openapi.yaml
 * }</pre>
 */
final class ApiDocumentRoutes {
  static final String PATH = "/openapi.yaml";
  static final String RESOURCE = "openapi.yaml";

  private final Vertx vertx;

  ApiDocumentRoutes(Vertx vertx) {
    this.vertx = vertx;
  }

  void mount(Router router) {
    // Read once, off the event loop; from the class loader, so a file of that name in the working
    // directory is never served in its place.
    Future<Buffer> document = vertx.executeBlocking(ApiDocumentRoutes::read, false);
    // The read belongs to the context that mounted the routes: each request continues on its own loop.
    router.get(PATH).handler(ctx -> SharedReads.onCaller(document)
        .onSuccess(yaml -> ctx.response().putHeader("Content-Type", "application/yaml").end(yaml))
        .onFailure(ctx::fail));
  }

  /** The document as the jar holds it. */
  static Buffer read() throws IOException {
    try (InputStream in = ApiDocumentRoutes.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IOException("resource " + RESOURCE + " is missing from the coordinator's jar; rebuild it");
      }
      return Buffer.buffer(in.readAllBytes());
    }
  }
}
