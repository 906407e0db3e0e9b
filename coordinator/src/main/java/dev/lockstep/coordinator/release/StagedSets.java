package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.set.SetUpload;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.protocol.MigrationSetUpload;
import dev.lockstep.protocol.MigrationsDigest;
import io.vertx.core.Future;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The migration sets that new instances carry in their image, collected from them so that a release can take its set
 * from the new instances ({@code release --migrations-from agents}, and release on arrival).
 *
 * <p>How a set travels, and why: a readiness-mode agent reports the digest of its migrations folder in every report.
 * When the coordinator holds no set of that digest, the answer to the report asks that one agent for it
 * ({@code sendMigrations}), and the agent uploads it under its own token ({@code PUT
 * /v1/services/{service}/migration-sets/{digest}}), bounded as {@code release --migrations} is. The coordinator stores it
 * only if its files digest to what was asked. Asking through the report costs nothing extra on the path every agent
 * already takes every two seconds; asking one agent at a time (another after {@value #ASK_AGAIN_SECONDS} s without an
 * upload) keeps a thousand new pods of one image from sending one set a thousand times; and because the set is stored
 * before anyone releases, a release started by hand or on arrival finds it at once, whichever coordinator instance
 * takes the request. A set is content-addressed, so a set stored this way and never released is what {@code lockstep
 * prune} removes.
 *
 * <pre>{@code
 * String ask = staged.ask("app", digest, "app/web-7").result();   // the digest to send, or null
 * staged.receive("app", digest, upload, "app/web-7");               // PUT …/migration-sets/{digest}
 * }</pre>
 */
public final class StagedSets {
  private static final Logger log = LoggerFactory.getLogger(StagedSets.class);
  static final long ASK_AGAIN_SECONDS = 30;

  private final MigrationSetStore sets;
  private final Clock clock;
  /** Digests known to be stored: the common report, from an agent whose set is here, costs a lookup in this. */
  private final Set<String> stored = ConcurrentHashMap.newKeySet();
  /** Digest → when an agent was last asked for it, and which. */
  private final Map<String, Asked> asked = new ConcurrentHashMap<>();

  private record Asked(String agent, Instant at) {}

  public StagedSets(MigrationSetStore sets, Clock clock) {
    this.sets = sets;
    this.clock = clock;
  }

  /**
   * Whether to ask {@code agent} (service/id) for the set of {@code digest} in the answer to its report: the digest
   * when the set is not stored and no other agent was asked for it lately, else null.
   */
  public Future<String> ask(String service, String digest, String agent) {
    if (stored.contains(digest)) {
      return Future.succeededFuture(null);
    }
    Instant now = clock.instant();
    Asked before = asked.get(digest);
    if (before != null && !before.agent().equals(agent)
        && Duration.between(before.at(), now).getSeconds() < ASK_AGAIN_SECONDS) {
      return Future.succeededFuture(null);
    }
    return sets.exists(digest).map(exists -> {
      if (exists) {
        stored.add(digest);
        asked.remove(digest);
        return null;
      }
      asked.put(digest, new Asked(agent, now));
      if (before == null || !before.agent().equals(agent)) {
        log.info("asking agent {} for the migration set {} of its image (service {}): no set of that digest is stored",
            agent, MigrationsDigest.shortForm(digest), service);
      }
      return digest;
    });
  }

  /** The set of {@code digest} turned out not to be stored (pruned since): ask for it again. */
  void forget(String digest) {
    stored.remove(digest);
  }

  /**
   * Stores the set an agent sent for {@code digest}.
   *
   * @throws LockstepException TOO_LARGE or BAD_REQUEST as for a release's upload, UNPROCESSABLE when the files are not
   *     a migration set or do not digest to {@code digest}
   */
  public Future<MigrationSet> receive(String service, String digest, MigrationSetUpload upload, String agent) {
    if (upload.files() == null) {
      return Future.failedFuture(LockstepException.badRequest("field 'files' of MigrationSetUpload is required: file name"
          + " → Base64 of its bytes"));
    }
    MigrationSet set;
    try {
      set = SetUpload.decode(upload.files(), SetUpload.Limits.DEFAULT).from("the set agent " + agent + " sent");
    } catch (LockstepException e) {
      return Future.failedFuture(e);
    }
    if (!set.digest().equals(digest)) {
      return Future.failedFuture(new LockstepException(LockstepException.Code.UNPROCESSABLE, "the files sent for migration"
          + " set " + MigrationsDigest.shortForm(digest) + " digest to " + MigrationsDigest.shortForm(set.digest())
          + "; send the files of the set that digest names"));
    }
    return sets.store(set).map(v -> {
      stored.add(digest);
      asked.remove(digest);
      log.info("stored migration set {} ({} files) sent by agent {} of service {}", MigrationsDigest.shortForm(digest),
          set.files().size(), agent, service);
      return set;
    });
  }
}
