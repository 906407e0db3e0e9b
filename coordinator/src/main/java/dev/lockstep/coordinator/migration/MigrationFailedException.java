package dev.lockstep.coordinator.migration;

/** A migration failed and was rolled back; the message names the migration and the database error. */
public final class MigrationFailedException extends RuntimeException {
  private final String sqlState;

  public MigrationFailedException(String message, String sqlState, Throwable cause) {
    super(message, cause);
    this.sqlState = sqlState;
  }

  /** The database's SQL state, e.g. {@code 55P03} when the statement could not get its lock in time; may be null. */
  public String sqlState() {
    return sqlState;
  }

  public boolean lockTimeout() {
    return "55P03".equals(sqlState);
  }
}
