package dev.lockstep.coordinator.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;

/**
 * The coordinator's own durable state, in the schema {@code lockstep} of the application's
 * database, so that a state change and its fencing check commit in one transaction. Creation is
 * idempotent and serialised with an advisory lock, so coordinators may start together.
 *
 * <p>A schema that is already current is left untouched: its comment holds the digest of the DDL
 * that made it, read from the catalog without locking any table. Running the DDL every time would
 * not be harmless: {@code CREATE INDEX IF NOT EXISTS} takes a SHARE lock on its table before it
 * looks for the index, so a coordinator paused (or stuck) inside a write to
 * {@code lockstep.releases} would hold back every standby's start-up for as long as it stays
 * paused. When the DDL must run (a new database, a new version), its locks wait at most {@link
 * #LOCK_TIMEOUT}; the failure (SQL state 55P03) is retried by {@link StoreStartup}.
 */
public final class LockstepSchema {
  private static final String[] DDL = {
    "CREATE SCHEMA IF NOT EXISTS lockstep",
    """
    CREATE TABLE IF NOT EXISTS lockstep.fence (
      service     text PRIMARY KEY,
      epoch       bigint NOT NULL,
      holder      text,
      acquired_at timestamptz)""",
    """
    CREATE TABLE IF NOT EXISTS lockstep.releases (
      id              text PRIMARY KEY,
      service         text NOT NULL,
      phase           text NOT NULL,
      abort_requested boolean NOT NULL DEFAULT false,
      document        jsonb NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now())""",
    // At most one unfinished release per service, enforced by the database rather than by timing.
    """
    CREATE UNIQUE INDEX IF NOT EXISTS releases_one_active_per_service
      ON lockstep.releases (service) WHERE phase NOT IN ('COMPLETED', 'ABORTED', 'FAILED')""",
    "CREATE INDEX IF NOT EXISTS releases_by_service ON lockstep.releases (service, created_at DESC)",
    """
    CREATE TABLE IF NOT EXISTS lockstep.release_events (
      release_id text NOT NULL REFERENCES lockstep.releases (id),
      seq        bigint NOT NULL,
      at         timestamptz NOT NULL,
      phase      text NOT NULL,
      message    text NOT NULL,
      PRIMARY KEY (release_id, seq))""",
    """
    CREATE TABLE IF NOT EXISTS lockstep.desired_state (
      service  text PRIMARY KEY,
      idx      bigint NOT NULL,
      document jsonb NOT NULL)""",
    """
    CREATE TABLE IF NOT EXISTS lockstep.repairs (
      id         bigserial PRIMARY KEY,
      release_id text NOT NULL REFERENCES lockstep.releases (id),
      rule       text NOT NULL,
      object     text NOT NULL,
      statement  text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())""",
    // Migration sets, content-addressed: a set once per digest, a file's bytes once per SHA-256.
    """
    CREATE TABLE IF NOT EXISTS lockstep.migration_files (
      sha256  text PRIMARY KEY,
      content bytea NOT NULL)""",
    """
    CREATE TABLE IF NOT EXISTS lockstep.migration_sets (
      digest     text PRIMARY KEY,
      files      integer NOT NULL,
      bytes      bigint NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())""",
    """
    CREATE TABLE IF NOT EXISTS lockstep.migration_set_files (
      digest text NOT NULL REFERENCES lockstep.migration_sets (digest) ON DELETE CASCADE,
      name   text NOT NULL,
      sha256 text NOT NULL REFERENCES lockstep.migration_files (sha256),
      PRIMARY KEY (digest, name))""",
    // Sets deleted by `lockstep prune`, so a release whose set is gone answers 410 saying when, not 404.
    """
    CREATE TABLE IF NOT EXISTS lockstep.pruned_sets (
      digest    text PRIMARY KEY,
      pruned_at timestamptz NOT NULL,
      files     integer NOT NULL,
      bytes     bigint NOT NULL)""",
    // Audit of `lockstep baseline`: a database adopted at a version without running its migrations.
    """
    CREATE TABLE IF NOT EXISTS lockstep.baselines (
      id                bigserial PRIMARY KEY,
      service           text NOT NULL,
      version           text NOT NULL,
      description       text NOT NULL,
      requested_by      text NOT NULL,
      caller            text,
      at                timestamptz NOT NULL,
      tables            text[] NOT NULL,
      covered           text[] NOT NULL,
      migrations_digest text NOT NULL,
      epoch             bigint NOT NULL)""",
    // Audit of agents that went from the registry: removed by an operator, left (an ephemeral agent stopping), or
    // forgotten (an ephemeral agent silent past its liveness timeout and one report interval).
    """
    CREATE TABLE IF NOT EXISTS lockstep.agent_departures (
      id             bigserial PRIMARY KEY,
      service        text NOT NULL,
      agent_id       text NOT NULL,
      how            text NOT NULL,
      revision       text,
      requested_by   text,
      requested_from text,
      at             timestamptz NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS agent_departures_by_service ON lockstep.agent_departures (service, at DESC)",
    // Each participant's progress in a release, a row per agent (ReleaseStore): a round of a fleet wait writes the
    // agents that moved, not a document that grows with the fleet. pos keeps the participants' order.
    """
    CREATE TABLE IF NOT EXISTS lockstep.release_agents (
      release_id text NOT NULL REFERENCES lockstep.releases (id),
      agent_id   text NOT NULL,
      pos        integer NOT NULL,
      agent      jsonb NOT NULL,
      PRIMARY KEY (release_id, agent_id))""",
    // Releases stored before the rows existed carried their agents in the document: moved once, here.
    """
    INSERT INTO lockstep.release_agents (release_id, agent_id, pos, agent)
      SELECT r.id, a.agent->>'id', a.pos - 1, a.agent FROM lockstep.releases r,
        jsonb_array_elements(CASE WHEN jsonb_typeof(r.document->'agents') = 'array' THEN r.document->'agents'
          ELSE '[]'::jsonb END) WITH ORDINALITY a(agent, pos)
      ON CONFLICT DO NOTHING""",
    "UPDATE lockstep.releases SET document = document - 'agents' WHERE document ? 'agents'",
    // The whole release document, agents included: what the API answers, for operators and tests reading SQL too.
    """
    CREATE OR REPLACE FUNCTION lockstep.release_document(r lockstep.releases) RETURNS jsonb LANGUAGE sql STABLE AS $f$
      SELECT r.document || jsonb_build_object('agents', coalesce(
        (SELECT jsonb_agg(a.agent ORDER BY a.pos) FROM lockstep.release_agents a WHERE a.release_id = r.id),
        r.document->'agents', '[]'::jsonb))
    $f$""",
    // The one fencing check every fenced write runs, in its own transaction (EpochCheck).
    EpochCheck.FUNCTION,
  };

  /** The comment on schema {@code lockstep} once this version's DDL has run; any change to the DDL changes it. */
  static final String CURRENT = "lockstep schema " + digest(DDL);

  /** How long the DDL waits for a table lock before it gives up, to be tried again. */
  static final String LOCK_TIMEOUT = "10s";

  private LockstepSchema() {}

  /** Creates or upgrades the schema unless it is current. Returns whether the DDL ran. */
  public static boolean ensure(Connection connection) throws SQLException {
    if (CURRENT.equals(comment(connection))) {
      return false;
    }
    boolean autoCommit = connection.getAutoCommit();
    connection.setAutoCommit(false);
    try (Statement s = connection.createStatement()) {
      s.execute("SET LOCAL lock_timeout = '" + LOCK_TIMEOUT + "'");
      s.execute("SELECT pg_advisory_xact_lock(1280004915, 0)");
      for (String ddl : DDL) {
        s.execute(ddl);
      }
      s.execute("COMMENT ON SCHEMA lockstep IS '" + CURRENT + "'");
      connection.commit();
      return true;
    } catch (SQLException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(autoCommit);
    }
  }

  /** The schema's comment, or null when there is no schema {@code lockstep}: a catalog read, no table lock. */
  static String comment(Connection connection) throws SQLException {
    try (PreparedStatement s = connection.prepareStatement(
        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = 'lockstep'");
        ResultSet rows = s.executeQuery()) {
      return rows.next() ? rows.getString(1) : null;
    }
  }

  private static String digest(String[] ddl) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (String statement : ddl) {
        sha.update(statement.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
      }
      return HexFormat.of().formatHex(sha.digest(), 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}
