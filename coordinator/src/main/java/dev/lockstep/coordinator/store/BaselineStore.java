package dev.lockstep.coordinator.store;

import dev.lockstep.protocol.Baseline;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The audit of {@code lockstep baseline} in {@code lockstep.baselines}: who recorded which version of a
 * service as applied without running it, when, from where, and what the database held. Blocking JDBC:
 * call on a worker.
 *
 * <pre>{@code BaselineStore.record(held.connection(), baseline, held.epoch());
 * Optional<Baseline> last = BaselineStore.latest(connection, "app");}</pre>
 */
public final class BaselineStore {
  private BaselineStore() {}

  /**
   * Records {@code baseline} in one transaction that first checks {@code epoch} against the fence, so a
   * coordinator that lost the service records nothing. Leaves {@code connection} in autocommit.
   *
   * @throws dev.lockstep.coordinator.error.LockstepException {@code FENCED} if the epoch moved
   */
  public static void record(Connection connection, Baseline baseline, long epoch) throws SQLException {
    connection.setAutoCommit(false);
    try (PreparedStatement insert = connection.prepareStatement("INSERT INTO lockstep.baselines (service, version,"
        + " description, requested_by, caller, at, tables, covered, migrations_digest, epoch)"
        + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      EpochCheck.check(connection, baseline.service(), epoch);
      insert.setString(1, baseline.service());
      insert.setString(2, baseline.version());
      insert.setString(3, baseline.description());
      insert.setString(4, baseline.requestedBy());
      insert.setString(5, baseline.caller());
      insert.setTimestamp(6, Timestamp.from(Instant.parse(baseline.at())));
      insert.setArray(7, connection.createArrayOf("text", baseline.tables().toArray()));
      insert.setArray(8, connection.createArrayOf("text", baseline.covered().toArray()));
      insert.setString(9, baseline.migrationsDigest());
      insert.setLong(10, epoch);
      insert.executeUpdate();
      connection.commit();
    } catch (SQLException | RuntimeException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(true);
    }
  }

  /** The newest baseline of {@code service}, if Lockstep ever baselined it. */
  public static Optional<Baseline> latest(Connection connection, String service) throws SQLException {
    try (PreparedStatement read = connection.prepareStatement("SELECT version, description, requested_by, caller, at,"
        + " tables, covered, migrations_digest FROM lockstep.baselines WHERE service = ? ORDER BY id DESC LIMIT 1")) {
      read.setString(1, service);
      try (ResultSet rs = read.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(new Baseline(service, rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
            rs.getTimestamp(5).toInstant().toString(), texts(rs, 6), texts(rs, 7), rs.getString(8)));
      }
    }
  }

  private static List<String> texts(ResultSet rs, int column) throws SQLException {
    return Arrays.stream((Object[]) rs.getArray(column).getArray()).map(String::valueOf).toList();
  }
}
