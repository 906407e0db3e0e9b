package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.MigrationHistory;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What a release needs from a migration tool: the set it carries, the plan from the database's schema to a
 * target (up or down), applying one step of that plan under the fence, the history, and adopting a database
 * ({@code baseline}), and what pre-flight asks of the tool: findings, adoption, the rehearsal. Flyway
 * ({@code migration.flyway.FlywayEngine}) runs in-process and is the default; Alembic
 * ({@code migration.alembic.AlembicEngine}) runs as the real {@code alembic} command. Everything that differs between
 * them is behind this interface, so no code outside an engine asks which engine it is. The phases, the fence, the
 * agents and the rules are the same for both. Every method blocks: call it on a worker.
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

  /**
   * Reads now what a release of the default set asks first, so the first request does not wait for it (Alembic: the
   * revision graph, the modules and where the database is, one Python process). Called once the coordinator has
   * started, on a worker; a failure is only logged (the release asks again and reports it). The default reads nothing.
   */
  default void warmUp() {}

  /** The set a new release (or check) carries: {@code upload} (file name → Base64) when given, else the default. */
  MigrationSet carried(Map<String, String> upload);

  /**
   * Checks that {@code set} is one this engine can run, whole (names, versions, config files), as {@link #carried}
   * checks an upload; for a set that came another way (the new instances' set, {@code --migrations-from agents}).
   *
   * @throws dev.lockstep.coordinator.error.LockstepException UNPROCESSABLE naming the file: the other engine's set, or
   *     a file the tool would not run
   */
  void accept(MigrationSet set);

  /**
   * Checks a requested {@code schema} before anything else: Flyway takes a version or {@code -N}; Alembic a
   * revision id, {@code head}, {@code heads}, {@code base} or {@code -N}.
   *
   * @throws dev.lockstep.coordinator.error.LockstepException BAD_REQUEST naming the text
   */
  void checkSchema(String text);

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

  /**
   * The steps of one phase, applied one after another through {@link Steps#apply} (each as {@link #migrate} applies
   * it), with whatever the engine keeps between them (Alembic: one Python process for all of them) released by
   * {@link Steps#close}. The caller does what it does between steps (storing a step as committed, a stop request, a
   * retry) between two {@code apply} calls, as with {@code migrate}.
   */
  default Steps steps(MigrationSet set, long epoch) {
    return new Steps() {
      @Override
      public List<AppliedMigration> apply(MigrationPlan.Step step, Consumer<String> output) {
        return migrate(set, step, epoch, output);
      }

      @Override
      public void close() {}
    };
  }

  /**
   * Begins now, without blocking, what {@link #steps}{@code (set, epoch)} will need, so that phase does not wait for
   * it (Alembic: its Python driver, which imports Alembic and reads the revisions, 0.3–0.5 s of MIGRATING before). The
   * first {@link Steps#apply} of {@link #steps} with the same set and epoch takes it over; closing the result ends it
   * if none did. The default begins nothing.
   */
  default Ahead stepsAhead(MigrationSet set, long epoch) {
    return Ahead.NOTHING;
  }

  /**
   * What {@link #stepsAhead} began. Closing it does not block (what it ends, ends in the background); closing it
   * twice, or after it was taken over, does nothing.
   */
  interface Ahead extends AutoCloseable {
    Ahead NOTHING = () -> {};

    @Override
    void close();
  }

  /** One phase's steps; see {@link #steps}. Used by one thread at a time. Blocking. */
  interface Steps extends AutoCloseable {
    /** As {@link MigrationEngine#migrate}. */
    List<AppliedMigration> apply(MigrationPlan.Step step, Consumer<String> output);

    @Override
    void close();
  }

  /** Applied and pending migrations of {@code set} against the database. */
  MigrationHistory history(MigrationSet set, String service);

  /**
   * The key under which the history's {@code version} and a release's applied version match: Flyway's version as
   * Flyway compares it ({@code 1.0} is {@code 1}), an Alembic revision id as it is; empty for an entry that is no
   * migration (a baseline's marker).
   */
  java.util.Optional<String> historyKey(String version);

  // ---- pre-flight: what the engine says before anything runs ------------------------------------------------------

  /** How {@link #rehearse} rehearses, for the release's events: "in a transaction that is rolled back", … */
  String rehearsal();

  /** What the pending migrations of {@code plan} earn before anything runs (how each meets the release's transaction, …). */
  List<Finding> findings(MigrationPlan plan);

  /**
   * {@code unadopted-database} when the database has tables but no history of this tool (the application migrated it
   * itself), saying how to adopt it; empty otherwise. Reads only.
   */
  Optional<Finding> adoption(Connection connection, MigrationSet set, MigrationPlan plan) throws SQLException;

  /**
   * Runs the rehearsable {@code repairs} and then the pending migrations of {@code plan} where nothing stays: Flyway in
   * {@code connection}'s transaction, rolled back; Alembic on a schema-only clone. {@code connection} is the live
   * database, in a transaction the caller rolls back; it is only read by an engine that rehearses elsewhere.
   */
  Rehearsed rehearse(Connection connection, MigrationSet set, MigrationPlan plan, List<String> repairs) throws SQLException;

  // ---- adopting a database ----------------------------------------------------------------------------------------

  /**
   * What recording {@code schema} as applied without running it would mean, read on {@code connection}.
   *
   * @throws dev.lockstep.coordinator.error.LockstepException CONFLICT when the database has this tool's history
   *     already; UNPROCESSABLE when it has no tables, or {@code schema} is not in {@code set}
   */
  BaselinePlan baselinePlan(Connection connection, MigrationSet set, String schema) throws SQLException;

  /** Records {@code version} as applied without running anything (Flyway's baseline, Alembic's stamp), fenced. */
  void baseline(MigrationSet set, String version, long epoch);
}
