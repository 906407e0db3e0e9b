package dev.lockstep.coordinator.migration;

/** A migration failed and was rolled back; the message names the migration and the database error. */
public final class MigrationFailedException extends RuntimeException {
  public MigrationFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
