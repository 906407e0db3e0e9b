package dev.lockstep.coordinator.server;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.migration.flyway.FlywayEngine;
import dev.lockstep.coordinator.migration.flyway.FlywayEngine;
import dev.lockstep.coordinator.migration.alembic.AlembicCommand;
import dev.lockstep.coordinator.migration.alembic.AlembicEngine;
import dev.lockstep.coordinator.migration.alembic.AlembicEnvironment;
import dev.lockstep.coordinator.migration.alembic.AlembicProject;
import dev.lockstep.protocol.Durations;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code serve}'s choice of migration engine: Flyway (in-process, the default) or Alembic (the real
 * {@code alembic} command, on the project {@code --alembic-config} names, with the application's environment).
 *
 * <pre>{@code lockstep serve --engine alembic --alembic-config /srv/app/alembic.ini --engine-env-file /srv/app/.env …}</pre>
 */
public final class EngineOptions {
  @Option(names = "--engine", defaultValue = "${env:LOCKSTEP_ENGINE:-flyway}",
      description = "the migration tool: flyway (V…/U… SQL files, in-process) or alembic (real Alembic, on"
          + " --alembic-config's project) (env LOCKSTEP_ENGINE, default flyway)")
  String engine;

  @Option(names = "--alembic-config", defaultValue = "${env:LOCKSTEP_ALEMBIC_CONFIG}",
      description = "with --engine alembic: the project's alembic.ini; its script_location/versions folder is the set a"
          + " release that uploads none carries (env LOCKSTEP_ALEMBIC_CONFIG)")
  Path alembicConfig;

  @Option(names = "--alembic-command", defaultValue = "${env:LOCKSTEP_ALEMBIC_COMMAND:-alembic}",
      description = "how to run Alembic, split at spaces, e.g. 'python3 -m alembic' or a virtualenv's bin/alembic; its Python (the #! line, or PYTHON -m alembic) runs Lockstep's Alembic driver"
          + " (env LOCKSTEP_ALEMBIC_COMMAND, default alembic)")
  String alembicCommand;

  @Option(names = "--engine-env", paramLabel = "KEY=VALUE",
      description = "a variable the application's env.py needs (e.g. WEBUI_SECRET_KEY=…), repeatable; DATABASE_URL is"
          + " always the --database-url Lockstep migrates")
  List<String> engineEnv = List.of();

  @Option(names = "--engine-env-file", defaultValue = "${env:LOCKSTEP_ENGINE_ENV_FILE}",
      description = "a file of KEY=VALUE lines (a .env file; # comments, 'export ' allowed) for the engine's"
          + " environment; --engine-env wins (env LOCKSTEP_ENGINE_ENV_FILE)")
  Path engineEnvFile;

  @Option(names = "--engine-timeout", defaultValue = "${env:LOCKSTEP_ENGINE_TIMEOUT:-6h}",
      description = "how long one alembic run (one step) may take before it is killed (and its transaction rolled back)"
          + " (env LOCKSTEP_ENGINE_TIMEOUT, default 6h)")
  String engineTimeout;

  /** {@code flyway} or {@code alembic}. */
  public String name() {
    return engine;
  }

  /** For the start-up line: where a release that uploads no set gets its migrations. */
  public String defaultSet(Path migrations) {
    if (engine.equals("alembic")) {
      return "the versions folder of the Alembic project " + alembicConfig.toAbsolutePath();
    }
    return migrations == null ? "none (every release uploads its set)" : migrations.toString();
  }

  /**
   * @param migrations {@code --migrations}, Flyway's folder (null: none)
   * @throws IllegalArgumentException for an unknown engine, or an option that does not fit it (exit 2)
   */
  public MigrationEngine build(DatabaseUrl database, Path migrations, String service, java.time.Duration lockTimeout) {
    switch (engine) {
      case "flyway" -> {
        if (alembicConfig != null) {
          throw new IllegalArgumentException("--alembic-config is given, but --engine is flyway; add --engine alembic");
        }
        return new FlywayEngine(database, migrations, service, lockTimeout);
      }
      case "alembic" -> {
        if (alembicConfig == null) {
          throw new IllegalArgumentException("--engine alembic needs --alembic-config PATH/alembic.ini (the project to run)");
        }
        if (migrations != null) {
          throw new IllegalArgumentException("--migrations is Flyway's folder; with --engine alembic the default set is"
              + " the versions folder of --alembic-config's project: leave --migrations out");
        }
        AlembicProject project;
        try {
          project = AlembicProject.open(alembicConfig);
        } catch (RuntimeException e) {
          throw new IllegalArgumentException(e.getMessage(), e);
        }
        AlembicCommand command = new AlembicCommand(List.of(alembicCommand.trim().split("\\s+")),
            AlembicEnvironment.of(database, engineEnv, engineEnvFile), Durations.parse(engineTimeout));
        return new AlembicEngine(project, command, database, service, lockTimeout);
      }
      default -> throw new IllegalArgumentException("--engine " + engine + " is not an engine: flyway or alembic");
    }
  }
}
