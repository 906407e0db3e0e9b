package dev.lockstep.coordinator.store;

import dev.lockstep.coordinator.error.LockstepException;
import io.vertx.core.Future;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.postgresql.util.PSQLException;

/**
 * The fencing check, in one place: the SQL function {@code lockstep.check_epoch(service, write_key, epoch)} that
 * {@link LockstepSchema} creates. Called inside the caller's transaction, it takes the service's shared write lock (so
 * a takeover cannot slip in before the transaction commits) and compares the service's epoch in {@code lockstep.fence}
 * with the caller's; a stale caller gets SQL state {@value #FENCED} and the transaction is aborted. Every fenced write
 * calls it: the store's own (Vert.x), the fence's and the engines' (JDBC, {@code Fence.checkEpoch}), and the trigger on
 * Alembic's version table, which a migration in another process cannot skip.
 *
 * <pre>{@code EpochCheck.check(tx, "app", 7);            // JDBC
 * EpochCheck.check(sqlConnection, "app", 7)          // Vert.x, a Future}</pre>
 */
public final class EpochCheck {
  /** The SQL state the function raises for a stale epoch (a class of Lockstep's own). */
  public static final String FENCED = "LS001";

  /** The function; its message starts as the Alembic engine expects: {@code lockstep-fence: coordinator fenced out …}. */
  public static final String FUNCTION = """
      CREATE OR REPLACE FUNCTION lockstep.check_epoch(fenced_service text, write_key bigint, mine bigint) RETURNS void
      LANGUAGE plpgsql AS $fn$
      DECLARE
        held bigint;
      BEGIN
        PERFORM pg_advisory_xact_lock_shared(write_key);
        SELECT f.epoch INTO held FROM lockstep.fence f WHERE f.service = fenced_service;
        IF held IS DISTINCT FROM mine THEN
          RAISE EXCEPTION 'lockstep-fence: coordinator fenced out of service %: it runs epoch %, the fence is at %',
            fenced_service, mine, coalesce(held::text, 'none')
            USING ERRCODE = 'LS001', DETAIL = coalesce(held, -1)::text;
        END IF;
      END
      $fn$""";

  private static final String EPOCH = "SELECT epoch FROM lockstep.fence WHERE service = ?";

  private EpochCheck() {}

  /**
   * The check on a JDBC connection, in its transaction.
   *
   * @throws LockstepException {@code FENCED} if the service's epoch is no longer {@code mine}
   */
  public static void check(Connection tx, String service, long mine) throws SQLException {
    try (PreparedStatement check = tx.prepareStatement("SELECT lockstep.check_epoch(?, ?, ?)")) {
      check.setString(1, service);
      check.setLong(2, FenceKeys.of(service).write());
      check.setLong(3, mine);
      check.execute();
    } catch (PSQLException e) {
      if (FENCED.equals(e.getSQLState())) {
        throw fenced(service, mine, e.getServerErrorMessage() == null ? null : e.getServerErrorMessage().getDetail());
      }
      throw e;
    }
  }

  /** The check on a Vert.x connection, in its transaction; fails with {@code FENCED} as above. */
  static Future<Void> check(SqlConnection tx, String service, long mine) {
    return tx.preparedQuery("SELECT lockstep.check_epoch($1, $2, $3)")
        .execute(Tuple.of(service, FenceKeys.of(service).write(), mine))
        .<Void>mapEmpty()
        .recover(e -> Future.failedFuture(e instanceof PgException pg && FENCED.equals(pg.getSqlState())
            ? fenced(service, mine, pg.getDetail()) : e));
  }

  /** The service's epoch in the fence now (no lock, no check), or -1 when it has none. */
  public static long current(Connection c, String service) throws SQLException {
    try (PreparedStatement read = c.prepareStatement(EPOCH)) {
      read.setString(1, service);
      try (ResultSet rs = read.executeQuery()) {
        return rs.next() ? rs.getLong(1) : -1;
      }
    }
  }

  private static LockstepException fenced(String service, long mine, String detail) {
    long current;
    try {
      current = detail == null ? -1 : Long.parseLong(detail.trim());
    } catch (NumberFormatException e) {
      current = -1;
    }
    return LockstepException.fenced(service, mine, current);
  }
}
