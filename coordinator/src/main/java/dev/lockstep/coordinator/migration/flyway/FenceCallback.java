package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.lock.Fence;
import java.sql.SQLException;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;

/**
 * Checks the fencing epoch inside Flyway's migration transaction, before each migration. With
 * {@code group(true)} all migrations share that transaction, so the shared fence lock is held until
 * it commits: a coordinator that lost the service can never commit a migration after the takeover.
 * A baseline checks it before Flyway writes its history ({@link Event#BEFORE_BASELINE}).
 */
final class FenceCallback implements Callback {
  private final String service;
  private final long epoch;
  private final Event before;

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
    try {
      Fence.checkEpoch(context.getConnection(), service, epoch);
    } catch (SQLException e) {
      throw new IllegalStateException("fencing check failed for service " + service + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String getCallbackName() {
    return "lockstep-fence";
  }
}
