package dev.lockstep.coordinator.migration;

import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.protocol.MigrationHistory;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What a release needs from a migration tool: the set it carries, the plan from the database's schema to a
 * target (up or down), applying one step of that plan under the fence, the history, and adopting a database
 * ({@code baseline}). Flyway ({@link Migrations}) runs in-process and is the default; Alembic
 * ({@code migration.alembic.AlembicEngine}) runs as the real {@code alembic} command. The phases, the fence,
 * the agents and the rules are the same for both. Every method blocks: call it on a worker.
 *
 * <pre>{@code MigrationSet set = engine.carried(request.migrations());
 * MigrationPlan plan = engine.plan(set, "head");
 * for (MigrationPlan.Step step : plan.steps()) engine.migrate(set, step, epoch, events::add);}</pre>
 */
public interface MigrationEngine {
  /** {@code flyway} or {@code alembic}, as {@code --engine} names it. */
  String name();

  /** Whether the coordinator has a default set (a folder, an Alembic project) for releases that upload none. */
  boolean hasFolder();

  /**
   * The default set, as it is now.
   *
   * @throws dev.lockstep.coordinator.error.LockstepException UNPROCESSABLE when there is none
   */
  MigrationSet folderSet();

  /** The set a new release (or check) carries: {@code upload} (file name → Base64) when given, else the default. */
  MigrationSet carried(Map<String, String> upload);

  /**
   * Checks a set that came another way (the new instances' set, {@code --migrations-from agents}) as {@link #carried}
   * checks an upload.
   *
   * @throws dev.lockstep.coordinator.error.LockstepException UNPROCESSABLE for the other engine's set, naming a file
   */
  void accept(MigrationSet set);

  /**
   * Checks a requested {@code schema} before anything else: Flyway takes a version or {@code -N}; Alembic a
   * revision id, {@code head}, {@code heads}, {@code base} or {@code -N}.
   *
   * @throws dev.lockstep.coordinator.error.LockstepException BAD_REQUEST naming the text
   */
  default void checkSchema(String text) {
    SchemaVersions.check(text);
  }

  /** What a release to {@code requestedSchema} (null: the newest; {@code -N}: N below the current) would do. */
  MigrationPlan plan(MigrationSet set, String requestedSchema);

  /**
   * Applies one step of a plan, fenced by {@code epoch}; {@code output} gets the tool's progress lines, if it
   * has any to give, as they come.
   *
   * @throws dev.lockstep.coordinator.error.LockstepException MIGRATION_FAILED naming the migration and the database
   *     error; FENCED if another coordinator took the service over
   */
  List<AppliedMigration> migrate(MigrationSet set, MigrationPlan.Step step, long epoch, Consumer<String> output);

  /** Applied and pending migrations of {@code set} against the database. */
  MigrationHistory history(MigrationSet set, String service);

  /** Records {@code version} as applied without running anything (Flyway's baseline, Alembic's stamp), fenced. */
  void baseline(MigrationSet set, String version, long epoch);

  /**
   * Whether a rehearsal can run the pending migrations inside a transaction that Lockstep then rolls back
   * (Flyway: the SQL runs on Lockstep's own connection). An engine that owns its connection is rehearsed on a
   * scratch clone of the schema instead.
   */
  default boolean rehearsesInTransaction() {
    return true;
  }
}
