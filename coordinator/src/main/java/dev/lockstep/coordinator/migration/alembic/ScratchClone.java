package dev.lockstep.coordinator.migration.alembic;

import dev.lockstep.coordinator.config.DatabaseUrl;

/** Placeholder until the helper's ScratchClone is merged (branch alembic-kit). */
public final class ScratchClone implements AutoCloseable {
  public static ScratchClone create(DatabaseUrl live, String purpose) {
    throw new UnsupportedOperationException("ScratchClone not merged yet");
  }

  public DatabaseUrl url() {
    throw new UnsupportedOperationException();
  }

  @Override
  public void close() {}
}
