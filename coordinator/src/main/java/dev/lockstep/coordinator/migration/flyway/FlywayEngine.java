package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.migration.locks.StepAside;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.migration.BaselinePlan;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.migration.Rehearsed;
import dev.lockstep.coordinator.migration.SchemaVersions;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.set.SetUpload;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.protocol.Finding;
import java.sql.Connection;
import java.util.Optional;
import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.protocol.MigrationHistory;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationInfoService;
import org.flywaydb.core.api.MigrationState;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.api.output.MigrateOutput;
import org.flywaydb.core.api.output.MigrateResult;
import org.flywaydb.core.internal.exception.FlywayMigrateException;
import org.flywaydb.core.internal.resource.NoopResourceProvider;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;

/**
 * Flyway, configured the way Lockstep needs it: the migrations of a {@link MigrationSet} (the one a release
 * carries; never read from disk behind Flyway's back), history in the standard
 * {@code flyway_schema_history}, all pending migrations of a release in one transaction
 * ({@code group}), a {@code lock_timeout} on every statement, and the fencing check inside that
 * transaction. Every method blocks: call it on the migration worker executor.
 *
 * <pre>{@code MigrationPlan plan = migrations.plan(set, null);     // to the newest
 * List<AppliedMigration> applied = migrations.migrate(set, plan.target(), epoch);}</pre>
 */
public final class FlywayEngine implements MigrationEngine {
  /** The description of the history row {@link #baseline} writes, as {@code flyway info} shows it. */
  public static final String BASELINE_DESCRIPTION = "<< Lockstep Baseline >>";

  private final DatabaseUrl database;
  private final Path folder;
  private final String service;
  private final Duration lockTimeout;

  /** @param folder the coordinator's {@code --migrations} folder, or null when it was started without one */
  public FlywayEngine(DatabaseUrl database, Path folder, String service, Duration lockTimeout) {
    this.database = database;
    this.folder = folder;
    this.service = service;
    this.lockTimeout = lockTimeout;
  }

  @Override
  public String name() {
    return "flyway";
  }

  /** Whether the coordinator has a {@code --migrations} folder, the default set of a release that uploads none. */
  @Override
  public boolean hasFolder() {
    return folder != null;
  }

  /**
   * The default migration set: the coordinator's folder as it is now. A release stores it when it is
   * created and never reads the folder again.
   *
   * @throws LockstepException UNPROCESSABLE when the coordinator has no folder
   */
  @Override
  public MigrationSet folderSet() {
    if (folder == null) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "this coordinator was started without"
          + " --migrations, so the request must bring its migration set: lockstep release --migrations DIR"
          + " (or lockstep check --migrations DIR, lockstep baseline --schema V --migrations DIR)");
    }
    MigrationSet set = MigrationSet.read(folder);
    accept(set);
    return set;
  }

  /**
   * Plans a release of the folder's set (Flyway's info: the files parsed, the history table read; nothing written),
   * so the first release does not pay for loading and compiling Flyway's code on its path.
   */
  @Override
  public void warmUp() {
    plan(folderSet(), null);
  }

  /**
   * The set a new release (or a check) carries: {@code upload} (file name → Base64) when the request
   * brought one, else the coordinator's folder as it is now; checked whole either way, before anything
   * is stored.
   */
  @Override
  public MigrationSet carried(Map<String, String> upload) {
    MigrationSet set = upload != null ? SetUpload.decode(upload, SetUpload.Limits.DEFAULT) : folderSet();
    accept(set);
    return set;
  }

  @Override
  public void accept(MigrationSet set) {
    FlywaySet.of(set);
  }

  @Override
  public void checkSchema(String text) {
    if (SchemaVersions.stepsDown(text).isEmpty()) {
      FlywaySet.parseSchema(text);
    }
  }

  @Override
  public Optional<String> historyKey(String version) {
    try {
      return version == null ? Optional.empty() : Optional.of(MigrationVersion.fromVersion(version).getVersion());
    } catch (RuntimeException e) {
      return Optional.empty(); // not a version Flyway reads (a baseline's "<< Flyway Baseline >>"): nothing to attribute
    }
  }

  /**
   * What a release to {@code requestedSchema} (null: the newest) would apply.
   *
   * @throws LockstepException UNPROCESSABLE if the version is unknown, or a downgrade past a version
   *     that has no undo script
   */
  @Override
  public MigrationPlan plan(MigrationSet files, String requestedSchema) {
    FlywaySet set = FlywaySet.of(files);
    MigrationInfoService info = info(files);
    MigrationInfo current = info.current();
    MigrationVersion currentVersion = current == null ? null : current.getVersion();
    MigrationVersion newest = set.newest();
    if (newest == null) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE,
          files.origin() + " holds no V… migrations; nothing to release a schema to");
    }
    MigrationVersion target = requestedSchema == null ? newest : target(info, requestedSchema);
    MigrationVersion first = MigrationVersion.fromVersion(set.versioned().get(0).version());
    // Below the first version is the empty schema: everything undone (alembic downgrade base).
    boolean empty = target.compareTo(first) < 0;
    if (!empty && set.migration(target) == null) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE,
          "schema version " + requestedSchema + " is not in " + files.origin() + "; the newest is " + newest
              + (currentVersion == null ? "" : ", the database is at " + currentVersion));
    }
    if (currentVersion != null && target.compareTo(currentVersion) < 0) {
      return downgradePlan(set, info, currentVersion, target);
    }
    if (empty) {
      return new MigrationPlan(currentVersion == null ? null : currentVersion.getVersion(), target.getVersion(), List.of());
    }
    List<PendingMigration> pending = new ArrayList<>();
    // Flyway's pending with target T are its pending up to T (those above are ABOVE_TARGET): read from the info above
    // rather than asked of a second Flyway (a connection, its history read and the set resolved again).
    for (MigrationInfo m : info.pending()) {
      if (m.getVersion() != null && m.getVersion().compareTo(target) <= 0) {
        pending.add(set.migration(m.getVersion()));
      }
    }
    // In version order: the contract's versions must be the highest (MigrationPlan.upgrade says which file is not).
    return MigrationPlan.upgrade(currentVersion == null ? null : currentVersion.getVersion(), target.getVersion(), pending);
  }

  /**
   * The version {@code requested} names: itself, or for {@code -N} the version N applied versions below the
   * current one ({@code 0}, the empty schema, when N reaches past the first).
   */
  private static MigrationVersion target(MigrationInfoService info, String requested) {
    java.util.OptionalInt down = SchemaVersions.stepsDown(requested);
    if (down.isEmpty()) {
      return FlywaySet.parseSchema(requested);
    }
    List<MigrationVersion> applied = new ArrayList<>();
    for (MigrationInfo m : info.applied()) {
      if (m.getVersion() != null && m.getState().isApplied() && !applied.contains(m.getVersion())) {
        applied.add(m.getVersion());
      }
    }
    if (applied.isEmpty()) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "schema " + requested
          + " goes down from the current version, but the database has no migration applied");
    }
    applied.sort(null);
    int index = applied.size() - 1 - down.getAsInt();
    return index < 0 ? MigrationVersion.fromVersion("0") : applied.get(index);
  }

  /**
   * A downgrade: the undo script of every applied version above {@code target}, newest first. A
   * version without one cannot be downgraded past, and the error names each.
   */
  private MigrationPlan downgradePlan(FlywaySet set, MigrationInfoService info, MigrationVersion current,
                                      MigrationVersion target) {
    Map<MigrationVersion, PendingMigration> undoScripts = set.undo();
    List<PendingMigration> undo = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    List<MigrationInfo> applied = new ArrayList<>(List.of(info.applied()));
    java.util.Collections.reverse(applied);
    for (MigrationInfo m : applied) {
      if (m.getVersion() == null || m.getVersion().compareTo(target) <= 0) {
        continue;
      }
      PendingMigration script = undoScripts.get(m.getVersion());
      if (script == null) {
        PendingMigration forward = set.migration(m.getVersion());
        String expected = forward != null ? undoName(forward.script())
            : "U" + m.getVersion() + "__" + m.getDescription().replace(' ', '_') + ".sql";
        missing.add("V" + m.getVersion() + " (" + m.getDescription() + ") has no undo script: " + expected + " is missing");
        continue;
      }
      // The history's version text (V001 and U1 are one version, but the row says 001) is what undo deletes.
      undo.add(script.withVersion(m.getVersion().getVersion()));
    }
    if (!missing.isEmpty()) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "cannot downgrade from " + current + " to " + target
          + ": " + String.join("; ", missing) + " in " + set.set().origin() + "; add the undo script(s), or downgrade no further");
    }
    return new MigrationPlan(current.getVersion(), target.getVersion(), undo);
  }

  /** {@code V7__x.sql} → {@code U7__x.sql}, in the same folder ({@code contract/U7__x.sql}). */
  private static String undoName(String script) {
    int slash = script.lastIndexOf('/') + 1;
    return script.substring(0, slash) + "U" + script.substring(slash + 1);
  }

  /**
   * Undoes one version: its U… script and the removal of its row from Flyway's history, in one
   * transaction that first checks the fence (Flyway's open-source edition has no undo of its own).
   */
  private List<AppliedMigration> undo(MigrationPlan.Step step, long epoch) {
    PendingMigration m = step.migrations().get(0);
    refuseUnmarkedTransactionControl(m);
    long started = System.nanoTime();
    try (java.sql.Connection c = new Connections(database).open(Fence.migrationApplicationName(service))) {
      try (java.sql.Statement s = c.createStatement()) {
        s.execute("SET lock_timeout = '" + lockTimeout.toMillis() + "ms'");
      }
      c.setAutoCommit(!step.transactional());
      Fence.checkEpoch(c, service, epoch);
      try (java.sql.PreparedStatement forget = c.prepareStatement("DELETE FROM flyway_schema_history WHERE version = ?")) {
        ScriptRunner.run(c, m);
        forget.setString(1, m.version());
        forget.executeUpdate();
        if (step.transactional()) {
          c.commit();
        }
      } catch (SQLException e) {
        if (step.transactional()) {
          c.rollback();
        }
        throw new LockstepException(LockstepException.Code.MIGRATION_FAILED, "undo " + m.label() + " failed: "
            + e.getMessage() + " (SQL state " + e.getSQLState() + ")", e);
      }
    } catch (SQLException e) {
      throw new LockstepException(LockstepException.Code.MIGRATION_FAILED, "undo " + m.label() + " failed: " + e.getMessage(), e);
    }
    return List.of(new AppliedMigration(m.version(), "undo " + m.description(), m.script(),
        (System.nanoTime() - started) / 1_000_000));
  }

  /** A last guard behind PREFLIGHT: a script whose transaction control would end the release's transaction never runs. */
  private static void refuseUnmarkedTransactionControl(PendingMigration m) {
    dev.lockstep.rules.SqlScript.Statement control = m.unmarkedTransactionControl();
    if (control != null) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "migration " + m.script() + " has "
          + control.describe() + ", which would end the release's transaction; " + m.howToMark());
    }
  }

  /**
   * Applies every pending migration up to {@code target} in one transaction that first checks
   * {@code epoch}. On failure nothing of the release is committed.
   *
   * @throws LockstepException {@code MIGRATION_FAILED} naming the migration and the database error, {@code FENCED}
   *     if another coordinator took the service over
   */
  public List<AppliedMigration> migrate(MigrationSet set, String target, long epoch) {
    FlywaySet.of(set).versioned().forEach(FlywayEngine::refuseUnmarkedTransactionControl);
    return migrate(configure(set, target, true), epoch);
  }

  /**
   * Applies one step: a transactional step in one transaction with the fencing check inside it; a
   * non-transactional step (one migration, e.g. {@code CREATE INDEX CONCURRENTLY}) outside any
   * transaction, with Flyway's session lock so the concurrent build does not wait on Flyway itself.
   */
  public List<AppliedMigration> migrate(MigrationSet set, MigrationPlan.Step step, long epoch) {
    return migrate(set, step, epoch, line -> {});
  }

  /** As above; Flyway runs in-process and gives no progress lines. */
  @Override
  public List<AppliedMigration> migrate(MigrationSet set, MigrationPlan.Step step, long epoch,
                                        java.util.function.Consumer<String> output) {
    if (step.undo()) {
      return undo(step, epoch);
    }
    step.migrations().forEach(FlywayEngine::refuseUnmarkedTransactionControl);
    return migrate(configure(set, step.target(), true), epoch);
  }

  private List<AppliedMigration> migrate(FluentConfiguration config, long epoch) {
    Flyway flyway = config.callbacks(new FenceCallback(service, epoch)).load();
    MigrateResult result;
    try {
      result = flyway.migrate();
    } catch (FlywayException e) {
      LockstepException fenced = causeOf(e, LockstepException.class);
      if (fenced != null && fenced.is(LockstepException.Code.FENCED)) {
        throw fenced;
      }
      throw new LockstepException(LockstepException.Code.MIGRATION_FAILED, describe(e), e);
    }
    List<AppliedMigration> applied = new ArrayList<>();
    for (MigrateOutput m : result.migrations) {
      applied.add(new AppliedMigration(m.version, m.description, m.filepath == null ? null : Path.of(m.filepath).getFileName().toString(), m.executionTime));
    }
    return applied;
  }

  /**
   * Records {@code version} as applied without running anything: Flyway's own baseline (its history table,
   * created with one {@code BASELINE} row described {@value #BASELINE_DESCRIPTION}), so that Flyway and
   * Lockstep read the same history and a release then applies only what comes after {@code version}. The
   * fence is checked first, on a connection named as migrating ones are, which a takeover terminates.
   *
   * @throws LockstepException {@code FENCED} if another coordinator took the service over; {@code CONFLICT}
   *     if Flyway refuses (its history has migrations already)
   */
  @Override
  public void baseline(MigrationSet set, String version, long epoch) {
    Flyway flyway = configure(set, null, true)
        .baselineVersion(version)
        .baselineDescription(BASELINE_DESCRIPTION)
        .callbacks(new FenceCallback(service, epoch, org.flywaydb.core.api.callback.Event.BEFORE_BASELINE))
        .load();
    try {
      flyway.baseline();
    } catch (FlywayException e) {
      LockstepException fenced = causeOf(e, LockstepException.class);
      if (fenced != null && fenced.is(LockstepException.Code.FENCED)) {
        throw fenced;
      }
      throw new LockstepException(LockstepException.Code.CONFLICT, "Flyway refused to baseline at " + version + ": "
          + firstLine(e.getMessage()), e);
    }
  }

  /** Flyway's view of the history and {@code set}: applied (oldest first) and pending migrations. */
  @Override
  public MigrationHistory history(MigrationSet set, String service) {
    MigrationInfoService info = info(set);
    List<MigrationHistory.Entry> applied = new ArrayList<>();
    List<MigrationHistory.Entry> pending = new ArrayList<>();
    for (MigrationInfo m : info.all()) {
      if (m.getState() == MigrationState.BELOW_BASELINE || m.getState() == MigrationState.BASELINE_IGNORED) {
        continue; // recorded as applied by a baseline (up to and at its version), never run: the baseline entry stands for them
      }
      MigrationHistory.Entry entry = new MigrationHistory.Entry(
          m.getVersion() == null ? null : m.getVersion().getVersion(), m.getDescription(), m.getScript(),
          m.getState().getDisplayName(), m.getInstalledBy(),
          m.getInstalledOn() == null ? null : m.getInstalledOn().toInstant().toString(), m.getExecutionTime(), null, null,
          m.getScript() != null && m.getScript().startsWith(MigrationSet.CONTRACT_PREFIX));
      (m.getInstalledOn() == null ? pending : applied).add(entry);
    }
    MigrationInfo current = info.current();
    return new MigrationHistory(service, current == null || current.getVersion() == null ? null
        : current.getVersion().getVersion(), applied, pending, List.of(), set.origin(), null);
  }

  /**
   * Flyway's info on {@code set}: what it reads of the database and the set. A Flyway refusal (a history it cannot
   * read, a checksum it will not accept) is a 409 naming Flyway's words, never a 500.
   */
  private MigrationInfoService info(MigrationSet set) {
    try {
      return configure(set, null, false).load().info();
    } catch (FlywayException e) {
      throw new LockstepException(LockstepException.Code.CONFLICT, "Flyway cannot read the database's history against "
          + set.origin() + ": " + firstLine(e.getMessage()), e);
    }
  }

  // ---- pre-flight -------------------------------------------------------------------------------------------------

  @Override
  public String rehearsal() {
    return "in a transaction that is rolled back";
  }

  /** How each script meets the release's transaction, and Flyway placeholders Lockstep would not replace. */
  @Override
  public List<Finding> findings(MigrationPlan plan) {
    List<Finding> findings = new ArrayList<>();
    for (PendingMigration m : plan.pending()) {
      FlywayFindings.of(m).ifPresent(findings::add);
      PlaceholderFindings.of(m).ifPresent(findings::add);
    }
    return findings;
  }

  /** Tables but no Flyway history: see {@link FlywayAdoption#finding}. */
  @Override
  public Optional<Finding> adoption(Connection connection, MigrationSet set, MigrationPlan plan) throws SQLException {
    return FlywayAdoption.finding(connection, set, plan);
  }

  @Override
  public Rehearsed rehearse(Connection connection, MigrationSet set, MigrationPlan plan, List<String> repairs)
      throws SQLException {
    return new FlywayRehearsal(database, lockTimeout, StepAside.DEFAULT).run(connection, plan, repairs);
  }

  // ---- adopting a database ----------------------------------------------------------------------------------------

  /** What Flyway's baseline at {@code schema} means here: see {@link FlywayAdoption#plan}. */
  @Override
  public BaselinePlan baselinePlan(Connection connection, MigrationSet files, String schema) throws SQLException {
    return FlywayAdoption.plan(connection, files, schema);
  }

  /**
   * @param migrating true for the connections that apply migrations: they carry the name a takeover
   *     terminates ({@link Fence#migrationApplicationName}); read-only uses must not
   */
  private FluentConfiguration configure(MigrationSet set, String target, boolean migrating) {
    Properties props = new Properties();
    props.setProperty("ApplicationName", migrating ? Fence.migrationApplicationName(service) : "lockstep-info/" + service);
    // A migration waiting on a lock queues every later query behind it; give up instead, visibly.
    props.setProperty("options", "-c lock_timeout=" + lockTimeout.toMillis());
    FluentConfiguration config = Flyway.configure()
        .dataSource(database.jdbcUrl(), database.user(), database.password())
        .jdbcProperties(toMap(props))
        // Flyway reads nothing from disk: the set's migrations come through the resolver, run by ScriptRunner.
        .resourceProvider(NoopResourceProvider.INSTANCE)
        .skipDefaultResolvers(true)
        .resolvers(new SetResolver(FlywaySet.of(set)))
        .group(true)
        .cleanDisabled(true)
        .connectRetries(3);
    // Flyway's default transactional lock keeps its history on a second connection, in a second transaction
    // committed after the migrations' own: a takeover between the two commits left V1's tables without their
    // history rows (FenceIT#aTakeoverDuringAGroupOfMigrationsLeavesAllOrNoneOfIt). With the session lock,
    // Flyway uses one connection, so the migrations, their history rows and the fencing check commit together.
    // The session lock also keeps CREATE INDEX CONCURRENTLY from waiting on Flyway's own transaction.
    config.getConfigurationExtension(PostgreSQLConfigurationExtension.class).setTransactionalLock(false);
    if (target != null) {
      config.target(target);
    }
    return config;
  }

  private static java.util.Map<String, String> toMap(Properties props) {
    java.util.Map<String, String> map = new java.util.HashMap<>();
    props.forEach((k, v) -> map.put((String) k, (String) v));
    return map;
  }

  /** "migration V3 (add broken column) failed: ERROR: … (SQL state 42703)" */
  static String describe(FlywayException e) {
    SQLException sql = causeOf(e, SQLException.class);
    String error = sql != null ? sql.getMessage() + " (SQL state " + sql.getSQLState() + ")" : firstLine(e.getMessage());
    if (e instanceof FlywayMigrateException fm && fm.getMigration() != null) {
      MigrationInfo m = fm.getMigration();
      String name = m.getVersion() == null ? m.getScript() : "V" + m.getVersion() + " (" + m.getDescription() + ")";
      return "migration " + name + " failed: " + error;
    }
    return "migrate failed: " + error;
  }

  private static String firstLine(String text) {
    if (text == null) {
      return "unknown error";
    }
    return text.lines().filter(l -> !l.isBlank()).findFirst().orElse(text).trim();
  }

  private static <T extends Throwable> T causeOf(Throwable e, Class<T> type) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }
}
