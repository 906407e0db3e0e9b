package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.lock.Fence;
import java.sql.SQLException;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;

/**
 * Checks the fencing epoch inside Flyway's migration transaction, before its first migration. With
 * {@code group(true)} all migrations share that transaction, so the shared fence lock the check takes is held until
 * it commits: a coordinator that lost the service can never commit a migration after the takeover, and checking again
 * before each later migration of the same transaction could only say the same (it was 200 round trips for a
 * 200-migration release). Outside a transaction (a step marked non-transactional) every migration is checked.
 * A baseline checks it before Flyway writes its history ({@link Event#BEFORE_BASELINE}).
 */
final class FenceCallback implements Callback {
  private final String service;
  private final long epoch;
  private final Event before;
  /** The connection whose open transaction holds the fence lock already; null when none does. */
  private java.sql.Connection checkedIn;

  FenceCallback(String service, long epoch) {
    this(service, epoch, Event.BEFORE_EACH_MIGRATE);
  }

  FenceCallback(String service, long epoch, Event before) {
    this.service = service;
    this.epoch = epoch;
    this.before = before;
  }

  @Override
  public boolean supports(Event event, Context context) {
    return event == before;
  }

  @Override
  public boolean canHandleInTransaction(Event event, Context context) {
    return true;
  }

  @Override
  public void handle(Event event, Context context) {
    java.sql.Connection connection = context.getConnection();
    try {
      boolean inTransaction = !connection.getAutoCommit();
      if (inTransaction && connection == checkedIn) {
        return;
      }
      Fence.checkEpoch(connection, service, epoch);
      checkedIn = inTransaction ? connection : null;
    } catch (SQLException e) {
      throw new IllegalStateException("fencing check failed for service " + service + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String getCallbackName() {
    return "lockstep-fence";
  }
}
