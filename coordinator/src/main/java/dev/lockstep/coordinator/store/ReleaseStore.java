package dev.lockstep.coordinator.store;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.DesiredState;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.protocol.ContractState;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Durable releases, their event log and each service's desired state, in {@code lockstep.*}. Every
 * write a release run makes goes through {@link #advance}, which checks the fencing epoch in the
 * same transaction: a coordinator that lost the service cannot write, whatever it believes.
 *
 * Each participant's progress is a row of {@code lockstep.release_agents}, so a round of a fleet wait writes the
 * agents that moved rather than a document as large as the fleet; every read returns the whole document.
 *
 * <pre>{@code store.advance(doc, journal.stored().agents(), Phase.PREPARING, epoch, "PREPARING: a-1 prepared (1/3)", null)}</pre>
 */
public final class ReleaseStore {
  /**
   * The run writes whole documents it holds in memory; an abort's audit, written beside the run by
   * {@link #requestAbort}, is carried over from the stored row so no later write of the run drops it.
   */
  private static final String KEEP_ABORT_AUDIT = " || jsonb_strip_nulls(jsonb_build_object('abortedBy', document->'abortedBy',"
      + " 'abortedFrom', document->'abortedFrom'))";
  /** The whole document of release row {@code r}, its agents included ({@code lockstep.release_document}), as text. */
  private static final String DOCUMENT = "lockstep.release_document(r)::text";
  private static final int ATTEMPTS = 3;
  private static final long RETRY_MS = 300;

  private final Vertx vertx;
  private final Pool pool;
  private final Clock clock;

  public ReleaseStore(Vertx vertx, Pool pool, Clock clock) {
    this.vertx = vertx;
    this.pool = pool;
    this.clock = clock;
  }

  /**
   * Runs {@code operation} again when PostgreSQL dropped the connection under it: the pool fails the
   * first query on a connection that died, and a transaction that lost its connection did not
   * commit, so trying again on a fresh one is safe.
   */
  private <T> Future<T> retrying(Supplier<Future<T>> operation) {
    return retrying(operation, 1);
  }

  private <T> Future<T> retrying(Supplier<Future<T>> operation, int attempt) {
    return operation.get().recover(e -> attempt < ATTEMPTS && Outages.isPostgresConnectionLoss(e)
        ? vertx.timer(RETRY_MS).compose(v -> retrying(operation, attempt + 1))
        : Future.failedFuture(e));
  }

  /**
   * Records a new PLANNED release and the migration set it carries, in one transaction: a refused
   * release stores no set. Refuses if the service already has an unfinished release.
   */
  public Future<ReleaseDocument> create(ReleaseDocument doc, MigrationSet set) {
    return pool.withTransaction(conn -> MigrationSetStore.insert(conn, set)
            .compose(v -> conn.preparedQuery("INSERT INTO lockstep.releases (id, service, phase, document, created_at, updated_at)"
                + " VALUES ($1, $2, $3, $4::text::jsonb, $5, $5)")
            .execute(Tuple.of(doc.id(), doc.service(), doc.phase().name(), withoutAgents(doc), now())))
            .compose(r -> writeAgents(conn, doc.id(), List.of(), doc.agents()))
            .compose(r -> appendEvent(conn, doc.id(), doc.phase(), "release requested" + by(doc.requestedBy(), doc.requestedFrom())
                + ": revision " + doc.revision()
                + ", schema " + (doc.schema() == null ? "newest" : doc.schema()) + ", migration set "
                + dev.lockstep.protocol.MigrationsDigest.shortForm(set.digest()) + " (" + set.files().size() + " files from "
                + set.origin() + ")")))
        .map(doc)
        .recover(e -> {
          if (e instanceof PgException pg && "23505".equals(pg.getSqlState())) {
            return active(doc.service()).compose(other -> Future.failedFuture(LockstepException.conflict(
                "service " + doc.service() + " already has release " + other.map(ReleaseDocument::id).orElse("?")
                    + " in progress (" + other.map(d -> d.phase().name()).orElse("?")
                    + "); wait for it to end or abort it")));
          }
          return Future.failedFuture(e);
        });
  }

  /**
   * Writes the release document and one event, and optionally publishes the matching desired state,
   * all in one transaction that first checks {@code epoch} against the fence. A compare-and-set on
   * the phase: the row changes only while it is still at {@code expected}, so a terminal phase is
   * never left and a run that resumed from a stale read cannot walk the release back.
   *
   * @return the new desired-state index when published, else -1
   * @throws LockstepException {@code FENCED} when the epoch moved or the release is no longer at {@code expected}
   */
  public Future<Long> advance(ReleaseDocument doc, List<ReleaseAgent> before, Phase expected, long epoch, String event,
                              DesiredState desired) {
    return retrying(() -> pool.withTransaction(conn -> checkEpoch(conn, doc.service(), epoch)
        .compose(v -> conn.preparedQuery("UPDATE lockstep.releases SET phase = $2, document = $3::text::jsonb" + KEEP_ABORT_AUDIT
                + ", updated_at = $4 WHERE id = $1 AND phase = $5 AND phase NOT IN ('COMPLETED', 'ABORTED', 'FAILED')")
            .execute(Tuple.of(doc.id(), doc.phase().name(), withoutAgents(doc), now(), expected.name())))
        .compose(rows -> rows.rowCount() == 1 ? writeAgents(conn, doc.id(), before, doc.agents())
            : Future.failedFuture(moved(doc.id(), expected)))
        .compose(v -> event == null ? Future.succeededFuture() : appendEvent(conn, doc.id(), doc.phase(), event))
        .compose(v -> desired == null ? Future.succeededFuture(-1L) : writeDesired(conn, desired))));
  }

  private static LockstepException moved(String id, Phase expected) {
    return new LockstepException(LockstepException.Code.FENCED, "release " + id + " is no longer " + expected
        + " in the database (another coordinator moved it on, or it ended); this run stops without another write");
  }

  /**
   * Moves the release to MIGRATING unless an abort was requested: one statement, so an abort either
   * lands before the schema is touched or is refused.
   *
   * @return false if an abort was requested first
   * @throws LockstepException {@code FENCED} when the release is no longer PREPARING
   */
  public Future<Boolean> enterMigrating(ReleaseDocument doc, List<ReleaseAgent> before, long epoch, String event) {
    return retrying(() -> pool.withTransaction(conn -> checkEpoch(conn, doc.service(), epoch)
        .compose(v -> conn.preparedQuery("UPDATE lockstep.releases SET phase = $2, document = $3::text::jsonb" + KEEP_ABORT_AUDIT
                + ", updated_at = $4 WHERE id = $1 AND phase = 'PREPARING' AND NOT abort_requested")
            .execute(Tuple.of(doc.id(), Phase.MIGRATING.name(), withoutAgents(doc), now())))
        .compose(rows -> rows.rowCount() == 0
            ? conn.preparedQuery("SELECT phase FROM lockstep.releases WHERE id = $1").execute(Tuple.of(doc.id()))
                .compose(now -> now.size() == 1 && Phase.PREPARING.name().equals(now.iterator().next().getString(0))
                    ? Future.succeededFuture(false)
                    : Future.failedFuture(moved(doc.id(), Phase.PREPARING)))
            : writeAgents(conn, doc.id(), before, doc.agents())
                .compose(v -> appendEvent(conn, doc.id(), Phase.MIGRATING, event)).map(true))));
  }

  /**
   * Asks a release to abort, recording who asked ({@code abortedBy}, {@code abortedFrom}) in the document and
   * an event, in one transaction. Succeeds only while the release has not begun to migrate; the run notices
   * at its next step. The row lock the update takes orders the event after any write of the run.
   */
  public Future<ReleaseDocument> requestAbort(String id, String requestedBy, String requestedFrom) {
    return pool.withTransaction(conn -> conn.preparedQuery("UPDATE lockstep.releases SET abort_requested = true,"
                + " document = document || jsonb_build_object('abortedBy', $2::text, 'abortedFrom', $3::text)"
                + " WHERE id = $1 AND phase IN ('PLANNED', 'PREFLIGHT', 'PREPARING') RETURNING phase")
            .execute(Tuple.of(id, requestedBy, requestedFrom))
            .compose(rows -> rows.rowCount() == 0 ? Future.succeededFuture(false)
                : appendEvent(conn, id, Phase.valueOf(rows.iterator().next().getString(0)),
                    "abort requested" + by(requestedBy, requestedFrom)).map(true)))
        .compose(recorded -> get(id).compose(doc -> {
          if (doc.isEmpty()) {
            return Future.failedFuture(LockstepException.notFound("no release " + id));
          }
          if (!recorded) {
            return Future.failedFuture(LockstepException.conflict("release " + id + " is " + doc.get().phase()
                + (doc.get().phase().isTerminal() ? " already" : "; a schema change may have committed, so it can no longer be aborted")));
          }
          return Future.succeededFuture(doc.get());
        }));
  }

  /** " by alice from 10.0.0.7", as events say who asked; empty for a release stored before the audit. */
  private static String by(String name, String address) {
    return (name == null ? "" : " by " + name) + (address == null ? "" : " from " + address);
  }

  public Future<Boolean> abortRequested(String id) {
    return retrying(() -> pool.preparedQuery("SELECT abort_requested FROM lockstep.releases WHERE id = $1")
        .execute(Tuple.of(id))
        .map(rows -> rows.size() > 0 && rows.iterator().next().getBoolean(0)));
  }

  public Future<Optional<ReleaseDocument>> get(String id) {
    return pool.preparedQuery("SELECT " + DOCUMENT + " FROM lockstep.releases r WHERE id = $1")
        .execute(Tuple.of(id))
        .map(rows -> rows.size() == 0
            ? Optional.empty()
            : Optional.of(Json.read(rows.iterator().next().getString(0), ReleaseDocument.class)));
  }

  public Future<Optional<ReleaseDocument>> active(String service) {
    return retrying(() -> pool.preparedQuery("SELECT " + DOCUMENT + " FROM lockstep.releases r WHERE service = $1"
            + " AND phase NOT IN ('COMPLETED', 'ABORTED', 'FAILED')")
        .execute(Tuple.of(service))
        .map(rows -> rows.size() == 0
            ? Optional.empty()
            : Optional.of(Json.read(rows.iterator().next().getString(0), ReleaseDocument.class))));
  }

  /**
   * When the service's unfinished release entered the phase it is in: the time of the first event written at that
   * phase (every transition writes one). Empty when no release is unfinished.
   */
  public Future<Optional<PhaseSince>> activePhaseSince(String service) {
    return pool.preparedQuery("SELECT r.phase, (SELECT min(e.at) FROM lockstep.release_events e WHERE e.release_id = r.id"
            + " AND e.phase = r.phase), r.updated_at FROM lockstep.releases r WHERE r.service = $1"
            + " AND r.phase NOT IN ('COMPLETED', 'ABORTED', 'FAILED')")
        .execute(Tuple.of(service))
        .map(rows -> {
          if (rows.size() == 0) {
            return Optional.empty();
          }
          Row row = rows.iterator().next();
          OffsetDateTime since = row.getOffsetDateTime(1) != null ? row.getOffsetDateTime(1) : row.getOffsetDateTime(2);
          return Optional.of(new PhaseSince(Phase.valueOf(row.getString(0)), since.toInstant()));
        });
  }

  /** A phase and when a release entered it. */
  public record PhaseSince(Phase phase, java.time.Instant since) {}

  public Future<List<ReleaseDocument>> recent(String service, int limit) {
    return pool.preparedQuery("SELECT " + DOCUMENT + " FROM lockstep.releases r WHERE ($1::text IS NULL OR service = $1)"
            + " ORDER BY created_at DESC LIMIT $2")
        .execute(Tuple.of(service, limit))
        .map(rows -> {
          List<ReleaseDocument> docs = new ArrayList<>();
          for (Row row : rows) {
            docs.add(Json.read(row.getString(0), ReleaseDocument.class));
          }
          return docs;
        });
  }

  public Future<List<ReleaseEvent>> events(String releaseId, long afterSeq) {
    return pool.preparedQuery("SELECT seq, at, phase, message FROM lockstep.release_events"
            + " WHERE release_id = $1 AND seq > $2 ORDER BY seq")
        .execute(Tuple.of(releaseId, afterSeq))
        .map(rows -> {
          List<ReleaseEvent> events = new ArrayList<>();
          for (Row row : rows) {
            events.add(new ReleaseEvent(releaseId, row.getLong(0), row.getOffsetDateTime(1).toInstant().toString(),
                Phase.valueOf(row.getString(2)), row.getString(3)));
          }
          return events;
        });
  }

  /** Which release, carrying which set, applied a migration: {@link #appliedBy}. */
  public record AppliedBy(String releaseId, String migrationsDigest, String coordinator, String requestedBy) {}

  /**
   * For each version a release of {@code service} applied and no later release undid, the last release
   * that applied it and the digest of its set. Keys are versions as the release documents write them.
   */
  public Future<Map<String, AppliedBy>> appliedBy(String service) {
    return pool.preparedQuery("SELECT r.id, r.document->>'migrationsDigest', a->>'version', a->>'description', a->>'coordinator',"
            + " r.document->>'requestedBy'"
            + " FROM lockstep.releases r, jsonb_array_elements(r.document->'applied') a WHERE r.service = $1"
            + " ORDER BY r.created_at, r.id")
        .execute(Tuple.of(service))
        .map(rows -> {
          Map<String, AppliedBy> by = new LinkedHashMap<>();
          for (Row row : rows) {
            String version = row.getString(2);
            String description = row.getString(3);
            if (description != null && description.startsWith("undo ")) {
              by.remove(version);
            } else if (version != null) {
              by.put(version, new AppliedBy(row.getString(0), row.getString(1), row.getString(4), row.getString(5)));
            }
          }
          return by;
        });
  }

  /** The digest of the set the newest release of {@code service} carried, if any release carried one. */
  public Future<Optional<String>> latestMigrationsDigest(String service) {
    return pool.preparedQuery("SELECT document->>'migrationsDigest' FROM lockstep.releases WHERE service = $1"
            + " AND document->>'migrationsDigest' IS NOT NULL ORDER BY created_at DESC LIMIT 1")
        .execute(Tuple.of(service))
        .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(rows.iterator().next().getString(0)));
  }

  /** Repairs made by releases of {@code service}, newest first. */
  public Future<List<MigrationHistory.Repair>> repairs(String service) {
    return pool.preparedQuery("SELECT r.release_id, r.rule, r.object, r.statement, r.applied_at FROM lockstep.repairs r"
            + " JOIN lockstep.releases rel ON rel.id = r.release_id WHERE rel.service = $1 ORDER BY r.id DESC LIMIT 200")
        .execute(Tuple.of(service))
        .map(rows -> {
          List<MigrationHistory.Repair> repairs = new ArrayList<>();
          for (Row row : rows) {
            repairs.add(new MigrationHistory.Repair(row.getString(0), row.getString(1), row.getString(2), row.getString(3),
                row.getOffsetDateTime(4).toInstant().toString()));
          }
          return repairs;
        });
  }

  /**
   * The service's desired state, with the revision of its last COMPLETED release ({@code releasedRevision}, which
   * readiness mode serves): read with it rather than stored in it, so a desired state written before it existed, or by
   * a coordinator that does not write it, says it too. It changes only when a release completes, which writes a new
   * desired state, so the index covers it.
   */
  public Future<DesiredState> desired(String service) {
    return retrying(() -> pool.preparedQuery("SELECT d.idx, d.document::text, (SELECT r.document->>'revision'"
            + " FROM lockstep.releases r WHERE r.service = d.service AND r.phase = 'COMPLETED'"
            + " ORDER BY r.created_at DESC LIMIT 1) FROM lockstep.desired_state d WHERE d.service = $1")
        .execute(Tuple.of(service))
        .map(rows -> {
          if (rows.size() == 0) {
            return DesiredState.none(service);
          }
          Row row = rows.iterator().next();
          DesiredState d = Json.read(row.getString(1), DesiredState.class);
          return d.withIndex(row.getLong(0)).withReleasedRevision(row.getString(2));
        }));
  }

  /**
   * The service's latest COMPLETED release, if its contract is {@code pending}: the one thing that keeps a new release
   * from starting (DESIGN.md, "Contract migrations").
   */
  public Future<Optional<ReleaseDocument>> pendingContract(String service) {
    return latestCompleted(service).map(latest -> latest.filter(d -> d.contract().state() == ContractState.PENDING));
  }

  /** The service's latest COMPLETED release: the only one whose contract {@code lockstep contract} may apply. */
  public Future<Optional<ReleaseDocument>> latestCompleted(String service) {
    return retrying(() -> pool.preparedQuery("SELECT " + DOCUMENT + " FROM lockstep.releases r WHERE service = $1"
            + " AND phase = 'COMPLETED' ORDER BY created_at DESC LIMIT 1")
        .execute(Tuple.of(service))
        .map(rows -> rows.size() == 0 ? Optional.<ReleaseDocument>empty()
            : Optional.of(Json.read(rows.iterator().next().getString(0), ReleaseDocument.class))));
  }

  /**
   * Stores a COMPLETED release's new contract ({@code lockstep contract}) and one event, fenced by {@code epoch} and
   * compare-and-set on the contract's state: it changes only while it is still {@code expected}.
   *
   * @throws LockstepException {@code FENCED} when the epoch moved or the contract is no longer {@code expected}
   */
  public Future<ReleaseDocument> updateContract(ReleaseDocument doc, ContractState expected, long epoch, String event) {
    return retrying(() -> pool.withTransaction(conn -> checkEpoch(conn, doc.service(), epoch)
        .compose(v -> conn.preparedQuery("UPDATE lockstep.releases SET document = $2::text::jsonb" + KEEP_ABORT_AUDIT
                + ", updated_at = $3 WHERE id = $1 AND phase = 'COMPLETED' AND document->'contract'->>'state' = $4")
            .execute(Tuple.of(doc.id(), withoutAgents(doc), now(), expected.wireName())))
        .compose(rows -> rows.rowCount() == 1 ? appendEvent(conn, doc.id(), Phase.COMPLETED, event)
            : Future.failedFuture(new LockstepException(LockstepException.Code.FENCED, "the contract of release "
                + doc.id() + " is no longer " + expected.wireName() + " (another coordinator applied it)")))
        .map(doc)));
  }

  /** Every revision a release of {@code service} ever moved to, whatever its end: what release on arrival leaves be. */
  public Future<java.util.Set<String>> releasedRevisions(String service) {
    return retrying(() -> pool.preparedQuery("SELECT DISTINCT document->>'revision' FROM lockstep.releases WHERE service = $1")
        .execute(Tuple.of(service))
        .map(rows -> {
          java.util.Set<String> revisions = new java.util.HashSet<>();
          rows.forEach(row -> revisions.add(row.getString(0)));
          return revisions;
        }));
  }

  private Future<Long> writeDesired(SqlConnection conn, DesiredState desired) {
    return conn.preparedQuery("INSERT INTO lockstep.desired_state (service, idx, document) VALUES ($1, 1, $2::text::jsonb)"
            + " ON CONFLICT (service) DO UPDATE SET idx = lockstep.desired_state.idx + 1, document = excluded.document"
            + " RETURNING idx")
        .execute(Tuple.of(desired.service(), Json.write(desired)))
        .map(rows -> rows.iterator().next().getLong(0));
  }

  /** The document as the releases row holds it: the agents are rows of their own ({@link #writeAgents}). */
  private static String withoutAgents(ReleaseDocument doc) {
    return Json.write(doc.toBuilder().agents(List.of()).build());
  }

  /**
   * Writes the participants that changed from {@code before} to {@code after} (an agent's place in the list is kept:
   * participants are only ever appended), in one statement: a round of a fleet wait costs what moved, not the fleet.
   */
  private static Future<Void> writeAgents(SqlConnection conn, String releaseId, List<ReleaseAgent> before,
                                          List<ReleaseAgent> after) {
    List<Map<String, Object>> changed = new ArrayList<>();
    for (int pos = 0; pos < after.size(); pos++) {
      ReleaseAgent agent = after.get(pos);
      if (pos >= before.size() || !agent.equals(before.get(pos))) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("pos", pos);
        row.put("agent", agent);
        changed.add(row);
      }
    }
    if (changed.isEmpty()) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery("INSERT INTO lockstep.release_agents (release_id, agent_id, pos, agent)"
            + " SELECT $1, e->'agent'->>'id', (e->>'pos')::int, e->'agent' FROM jsonb_array_elements($2::text::jsonb) e"
            + " ON CONFLICT (release_id, agent_id) DO UPDATE SET pos = excluded.pos, agent = excluded.agent")
        .execute(Tuple.of(releaseId, Json.write(changed)))
        .mapEmpty();
  }

  private Future<Void> appendEvent(SqlConnection conn, String releaseId, Phase phase, String message) {
    return conn.preparedQuery("INSERT INTO lockstep.release_events (release_id, seq, at, phase, message)"
            + " SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4 FROM lockstep.release_events WHERE release_id = $1")
        .execute(Tuple.of(releaseId, now(), phase.name(), message))
        .mapEmpty();
  }

  private static Future<Void> checkEpoch(SqlConnection conn, String service, long epoch) {
    return EpochCheck.check(conn, service, epoch);
  }


  private OffsetDateTime now() {
    return OffsetDateTime.ofInstant(clock.instant(), ZoneOffset.UTC);
  }
}
