package dev.lockstep.coordinator.http;

import static dev.lockstep.coordinator.http.Responses.reply;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.protocol.MigrationSetListing;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.rules.FlywayChecksum;
import io.vertx.core.Future;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The migration set a release carries: {@code GET /v1/releases/{id}/migrations} lists it (names, sizes,
 * SHA-256 and Flyway checksums, so they can be compared with {@code history}), {@code GET
 * /v1/releases/{id}/migrations/{name}} serves one file as stored. Operator token.
 */
final class ReleaseMigrationRoutes {
  private final ReleaseStore releases;
  private final MigrationSetStore sets;
  private final Auth auth;

  ReleaseMigrationRoutes(ReleaseStore releases, MigrationSetStore sets, Auth auth) {
    this.releases = releases;
    this.sets = sets;
    this.auth = auth;
  }

  void mount(Router router) {
    router.get("/v1/releases/:id/migrations").handler(auth.require(Role.OPERATOR)).handler(this::list);
    router.get("/v1/releases/:id/migrations/:name").handler(auth.require(Role.OPERATOR)).handler(this::file);
  }

  private void list(RoutingContext ctx) {
    reply(ctx, 200, carried(ctx).map(set -> {
      List<MigrationSetListing.File> files = new ArrayList<>();
      for (Map.Entry<String, byte[]> file : set.bytes().entrySet()) {
        files.add(new MigrationSetListing.File(file.getKey(), file.getValue().length, set.sha256(file.getKey()),
            file.getKey().endsWith(".sql") ? FlywayChecksum.of(set.files().get(file.getKey())) : null));
      }
      return new MigrationSetListing(ctx.pathParam("id"), set.digest(), files);
    }));
  }

  private void file(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    carried(ctx).onFailure(ctx::fail).onSuccess(set -> {
      String content = set.files().get(name);
      if (content == null) {
        ctx.fail(LockstepException.notFound("the migration set " + set.digest() + " of release " + ctx.pathParam("id")
            + " has no file '" + Names.printable(name) + "'; GET /v1/releases/" + ctx.pathParam("id") + "/migrations lists it"));
        return;
      }
      ctx.response().setStatusCode(200).putHeader("Content-Type", "text/plain; charset=utf-8").end(content);
    });
  }

  private Future<MigrationSet> carried(RoutingContext ctx) {
    String id = Names.releaseId("release id", ctx.pathParam("id"));
    return releases.get(id).compose(doc -> {
      if (doc.isEmpty()) {
        return Future.failedFuture(LockstepException.notFound("no release " + id));
      }
      ReleaseDocument d = doc.get();
      if (d.migrationsDigest() == null) {
        return Future.failedFuture(LockstepException.notFound("release " + id + " carries no stored migration set"
            + " (it was created by a Lockstep version that did not store one)"));
      }
      return sets.load(d.migrationsDigest(), id);
    });
  }

}
