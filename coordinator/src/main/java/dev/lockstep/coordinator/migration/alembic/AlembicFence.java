package dev.lockstep.coordinator.migration.alembic;

import dev.lockstep.coordinator.store.EpochCheck;
import dev.lockstep.coordinator.store.FenceKeys;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fence for a migration that runs in another process. {@code alembic} cannot ask Lockstep for its epoch, so
 * the check sits in the database, in the migration's own transaction: a trigger on Alembic's version table
 * ({@code alembic_version}) refuses every insert, update and delete whose session does not carry the service's
 * current epoch. The child gets its epoch as libpq session settings ({@link #sessionOptions}: {@code PGOPTIONS}).
 * Alembic writes the version table after each revision, inside the transaction that ran it, so a stale process's
 * migration transaction fails at that write and rolls back. The trigger runs the same check as every fenced write
 * ({@code lockstep.check_epoch}, {@link dev.lockstep.coordinator.store.EpochCheck}), which takes the service's shared
 * write lock first: a takeover's epoch bump waits for a running migration to end, then terminates it.
 *
 * <p>What it does not protect: statements an {@code env.py} or a revision commits before its version-table write
 * (an {@code autocommit_block}, a second connection). A session without an epoch is refused too, so an
 * application that still runs {@code alembic upgrade head} at start-up cannot migrate behind Lockstep's back;
 * {@code PGOPTIONS='-c lockstep.epoch=unfenced'} lets a person write the table by hand.
 */
public final class AlembicFence {
  /**
   * What the trigger's errors start with, which {@link AlembicEngine} looks for in alembic's output (the trigger's
   * SQL below spells it out too).
   */
  public static final String ERROR_PREFIX = "lockstep-fence:";
  public static final String UNFENCED = "unfenced";

  private AlembicFence() {}

  /**
   * Creates Alembic's version table (as Alembic would: so that even the first release's first write is fenced) and
   * puts the trigger on it. Idempotent.
   */
  public static void install(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA IF NOT EXISTS lockstep");
      s.execute(EpochCheck.FUNCTION); // what the trigger calls, if the coordinator's schema is not there yet
      s.execute("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL,"
          + " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))");
      s.execute("""
          CREATE OR REPLACE FUNCTION lockstep.alembic_fence_check() RETURNS trigger LANGUAGE plpgsql AS $fn$
          DECLARE
            fenced_service text := current_setting('lockstep.service', true);
            session_epoch text := current_setting('lockstep.epoch', true);
          BEGIN
            IF session_epoch = 'unfenced' THEN
              RETURN coalesce(NEW, OLD);
            END IF;
            IF coalesce(fenced_service, '') = '' OR coalesce(session_epoch, '') = '' THEN
              RAISE EXCEPTION 'lockstep-fence: % is fenced by Lockstep: migrate through lockstep release', TG_TABLE_NAME
                USING HINT = 'stop the application migrating at start-up (e.g. ENABLE_DB_MIGRATIONS=False); to write'
                  || ' the table by hand anyway, set PGOPTIONS=''-c lockstep.epoch=unfenced''';
            END IF;
            -- The one fencing check (EpochCheck): the shared write lock, then the epoch.
            PERFORM lockstep.check_epoch(fenced_service, current_setting('lockstep.fence_key')::bigint,
              session_epoch::bigint);
            RETURN coalesce(NEW, OLD);
          END
          $fn$""");
      s.execute("CREATE OR REPLACE TRIGGER lockstep_fence_check BEFORE INSERT OR UPDATE OR DELETE ON alembic_version"
          + " FOR EACH ROW EXECUTE FUNCTION lockstep.alembic_fence_check()");
    }
  }

  /** The libpq settings that carry {@code epoch} into the child's sessions, plus a {@code lock_timeout}. */
  public static Map<String, String> sessionOptions(String service, long epoch, long lockTimeoutMs, String applicationName) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PGOPTIONS", "-c lockstep.service=" + escape(service) + " -c lockstep.epoch=" + epoch
        + " -c lockstep.fence_key=" + FenceKeys.of(service).write() + " -c lock_timeout=" + lockTimeoutMs);
    env.put("PGAPPNAME", applicationName);
    return env;
  }

  /** Settings for a run that must not be fenced: a scratch clone, a read. */
  public static Map<String, String> unfenced(String applicationName) {
    return Map.of("PGOPTIONS", "-c lockstep.epoch=" + UNFENCED, "PGAPPNAME", applicationName);
  }

  /** PGOPTIONS splits on spaces; a backslash keeps one in a value. */
  private static String escape(String value) {
    return value.replace("\\", "\\\\").replace(" ", "\\ ");
  }
}
