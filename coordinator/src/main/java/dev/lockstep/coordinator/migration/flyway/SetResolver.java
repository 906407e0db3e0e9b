package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.rules.FlywayChecksum;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import org.flywaydb.core.api.CoreMigrationType;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.executor.MigrationExecutor;
import org.flywaydb.core.api.resolver.MigrationResolver;
import org.flywaydb.core.api.resolver.ResolvedMigration;
import org.flywaydb.core.internal.jdbc.Results;
import org.flywaydb.core.internal.resolver.ResolvedMigrationImpl;

/**
 * Gives Flyway the {@code V…} migrations of a {@link FlywaySet}, to run through {@link ScriptRunner}:
 * Flyway keeps its history, checksums, validation, lock and transaction, and Lockstep decides what runs
 * in them — a script's outer {@code BEGIN; … COMMIT;} wrapper left out, so it cannot end the release's
 * transaction. The checksum is Flyway's own over the file as written, so the history is the one plain
 * Flyway would keep for the same files.
 */
final class SetResolver implements MigrationResolver {
  private final FlywaySet set;

  SetResolver(FlywaySet set) {
    this.set = set;
  }

  @Override
  public Collection<ResolvedMigration> resolveMigrations(MigrationResolver.Context context) {
    return set.versioned().stream().map(SetResolver::resolved).toList();
  }

  private static ResolvedMigration resolved(PendingMigration m) {
    int checksum = FlywayChecksum.of(m.sql());
    return new ResolvedMigrationImpl(MigrationVersion.fromVersion(m.version()), m.description(), m.script(), checksum,
        checksum, CoreMigrationType.SQL, m.script(), new Executor(m));
  }

  private record Executor(PendingMigration migration) implements MigrationExecutor {
    @Override
    public List<Results> execute(org.flywaydb.core.api.executor.Context context) throws SQLException {
      ScriptRunner.run(context.getConnection(), migration);
      return List.of();
    }

    @Override
    public boolean canExecuteInTransaction() {
      return migration.transactional();
    }

    @Override
    public boolean shouldExecute() {
      return true;
    }
  }
}
