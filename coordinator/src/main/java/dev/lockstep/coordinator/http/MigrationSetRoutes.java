package dev.lockstep.coordinator.http;

import static dev.lockstep.coordinator.http.Responses.exactBody;
import static dev.lockstep.coordinator.http.Responses.reply;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.protocol.Durations;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.PruneRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stored migration sets as a whole: {@code POST /v1/migration-sets/prune} deletes the sets no release
 * needs ({@link MigrationSetStore#prune}), or with {@code dryRun} says which it would. Operator token.
 */
final class MigrationSetRoutes {
  private static final Logger log = LoggerFactory.getLogger(MigrationSetRoutes.class);

  private final MigrationSetStore sets;
  private final Auth auth;

  MigrationSetRoutes(MigrationSetStore sets, Auth auth) {
    this.sets = sets;
    this.auth = auth;
  }

  void mount(Router router) {
    router.post("/v1/migration-sets/prune").handler(auth.require(Role.OPERATOR)).handler(this::prune);
  }

  private void prune(RoutingContext ctx) {
    // Elsewhere unknown fields are ignored, for compatibility; here a misspelt "dryRun" would delete for real.
    PruneRequest request = exactBody(ctx, PruneRequest.class, "so a misspelt dryRun cannot prune");
    if (request.keep() == null) {
      throw LockstepException.badRequest("field 'keep' of PruneRequest is required: how many of each service's newest"
          + " releases keep their set (a whole number, at least 1)");
    }
    if (request.keep() < 1) {
      throw LockstepException.badRequest("field 'keep' of PruneRequest must be at least 1 (got " + request.keep()
          + "): the newest release of a service always keeps its set");
    }
    Duration olderThan = null;
    if (request.olderThan() != null) {
      try {
        olderThan = Durations.parseAge(request.olderThan());
      } catch (IllegalArgumentException e) {
        throw LockstepException.badRequest("field 'olderThan' of PruneRequest: " + e.getMessage());
      }
    }
    String caller = String.valueOf(ctx.request().remoteAddress());
    reply(ctx, 200, sets.prune(request.keep(), olderThan, request.dryRun()).onSuccess(report -> {
      if (!report.dryRun()) {
        log.info("pruned {} migration set(s) [{}] and {} stored file(s), {} bytes, keeping {} (keep {}, stored before {});"
                + " asked from {}", report.pruned().size(), report.pruned().stream().map(p -> MigrationsDigest.shortForm(p.digest()))
                .collect(Collectors.joining(", ")), report.files(), report.bytes(), report.kept(), report.keep(),
            report.storedBefore() == null ? "any time" : report.storedBefore(), caller);
      }
    }));
  }
}
