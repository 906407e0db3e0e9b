package dev.lockstep.coordinator.migration.alembic;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.store.EpochCheck;
import dev.lockstep.coordinator.migration.ApplicationTables;
import dev.lockstep.coordinator.migration.BaselinePlan;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.migration.Rehearsed;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.migration.SchemaVersions;
import dev.lockstep.coordinator.set.SetUpload;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.CatalogSnapshot;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Alembic as a release's migration engine, run with the real Alembic on a copy of the project holding exactly the
 * release's revisions ({@link AlembicProject#workspace}): through {@link AlembicDriver}, Alembic's own command API in
 * one Python process per phase, or, where that cannot run, the {@code alembic} command ({@link AlembicCommand}) once
 * per run. It plans from the revision graph ({@code history --verbose}, read once per set) and the revisions the
 * database is at ({@code alembic_version}, read with SQL: {@link AlembicVersions}); a release's {@code schema} is a
 * revision id ({@code head}, a unique prefix and {@code -N} are resolved to one). Each step runs {@code upgrade
 * <revision>} (or {@code downgrade <revision>@-1}) fenced by {@link AlembicFence}: the epoch goes to the child as
 * session settings and a trigger on {@code alembic_version} checks it in the migration's own transaction. Alembic's
 * progress streams into the release events. Every method blocks.
 *
 * <pre>{@code AlembicEngine engine = new AlembicEngine(AlembicProject.open(ini), command, database, "shop", lockTimeout);
 * MigrationPlan plan = engine.plan(set, "head");}</pre>
 */
public final class AlembicEngine implements MigrationEngine {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AlembicEngine.class);
  private static final Pattern FENCED = Pattern.compile(Pattern.quote(AlembicFence.ERROR_PREFIX)
      + " coordinator fenced out of service (\\S+): it runs epoch (\\d+), the fence is at (\\d*)");
  /** Python's {@code KeyError: 'WEBUI_SECRET_KEY'} from {@code os.environ[...]} in env.py. */
  private static final Pattern MISSING_VARIABLE = Pattern.compile("KeyError: '([A-Za-z_][A-Za-z0-9_]*)'");

  private final AlembicProject project;
  private static final Duration QUESTION_TIMEOUT = Duration.ofMinutes(2);

  private final AlembicCommand command;
  private final AlembicCommand questions;
  private final DatabaseUrl database;
  private final String service;
  private final Duration lockTimeout;
  /** What a set's revisions say, read once per set (in memory: a restarted coordinator reads it again). */
  private final BySet<Known> known = new BySet<>();

  /** A set's revision graph and what its modules say of themselves. */
  private record Known(AlembicRevisions graph, RevisionModules modules) {}

  public AlembicEngine(AlembicProject project, AlembicCommand command, DatabaseUrl database, String service,
                       Duration lockTimeout) {
    this.project = project;
    this.command = command;
    // history and current answer in about a second; one that hangs (env.py waiting on a network) must not hold a
    // release request for the migration timeout
    this.questions = command.withTimeout(QUESTION_TIMEOUT);
    this.database = database;
    this.service = service;
    this.lockTimeout = lockTimeout;
    this.currentSource = project.namesVersionTable() ? CurrentSource.ALEMBIC : CurrentSource.UNCHECKED;
  }

  @Override
  public String name() {
    return "alembic";
  }

  @Override
  public boolean hasFolder() {
    return true;
  }

  @Override
  public MigrationSet folderSet() {
    return project.folderSet();
  }

  /** The folder's graph, modules and current revisions ({@link #known}), read before the first release asks. */
  @Override
  public void warmUp() {
    try (AlembicProject.Workspace ws = project.workspace(folderSet())) {
      known(ws);
    }
  }

  @Override
  public MigrationSet carried(Map<String, String> upload) {
    MigrationSet set = upload != null ? SetUpload.decode(upload, SetUpload.Limits.DEFAULT) : folderSet();
    accept(set);
    return set;
  }

  @Override
  public void accept(MigrationSet set) {
    set.requireKind(MigrationSet.Kind.ALEMBIC);
  }

  /** A revision id (or unique prefix, or several joined by commas), {@code head}, {@code heads}, {@code base} or {@code -N}. */
  @Override
  public void checkSchema(String text) {
    if (text == null || SchemaVersions.stepsDown(text).isPresent()) {
      return;
    }
    if (text.length() > 400 || !text.matches("[A-Za-z0-9_]{1,64}(,[A-Za-z0-9_]{1,64})*")) {
      throw LockstepException.badRequest("schema must be an Alembic revision id (or a unique prefix of one), head, heads,"
          + " base, or -N for N revisions down (got '" + text + "')");
    }
  }

  /** A revision id is its own key: there is no other spelling of it. */
  @Override
  public java.util.Optional<String> historyKey(String version) {
    return java.util.Optional.ofNullable(version);
  }

  // ---- pre-flight -------------------------------------------------------------------------------------------------

  @Override
  public String rehearsal() {
    return "with alembic on a schema-only clone of the database, dropped afterwards";
  }

  /** A revision that opens an {@code autocommit_block} is a step of its own, and makes the release non-atomic. */
  @Override
  public List<Finding> findings(MigrationPlan plan) {
    List<Finding> findings = new ArrayList<>();
    for (PendingMigration m : plan.pending()) {
      if (!m.executeInTransaction()) {
        findings.add(new Finding(NON_TRANSACTIONAL, Severity.WARN, m.version(), "revision " + m.label() + " ("
            + m.script() + ") opens an autocommit_block: Alembic commits what ran before it and runs that block outside"
            + " any transaction, so it is a step of its own and this release is not atomic: if a later step fails, the"
            + " database stays at the last step that committed", List.of()));
      }
    }
    return findings;
  }

  static final String NON_TRANSACTIONAL = "non-transactional";

  /** Tables but no revision in {@code alembic_version}: the application migrated itself, adopt it with a stamp first. */
  @Override
  public java.util.Optional<Finding> adoption(Connection connection, MigrationSet set, MigrationPlan plan)
      throws SQLException {
    if (plan.current() != null) {
      return java.util.Optional.empty();
    }
    List<String> tables = ApplicationTables.of(CatalogSnapshot.read(connection), TOOL_TABLES);
    if (tables.isEmpty()) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(ApplicationTables.unadopted(tables, "no Alembic revision in alembic_version",
        "revisions", "lockstep baseline --schema REV (alembic stamp REV, fenced), REV being the last revision whose"
            + " changes the database already has"));
  }

  /** Alembic's version table, which Lockstep creates (empty) to fence the first write: no application data. */
  private static final Set<String> TOOL_TABLES = Set.of("alembic_version");
  /** On a schema-only clone, with the real alembic ({@link CloneRehearsal}): it owns its connection. */
  @Override
  public Rehearsed rehearse(Connection connection, MigrationSet set, MigrationPlan plan, List<String> repairs)
      throws SQLException {
    if (plan.pending().isEmpty()) {
      return new Rehearsed(null, List.of(), List.of(), List.of(), Set.of(), null, null, List.of());
    }
    return new CloneRehearsal(this, database).run(connection, set, plan, repairs).noting(List.of(
        new Finding(CloneRehearsal.RULE, Severity.INFO, "migrations", CloneRehearsal.CAVEAT, List.of())));
  }

  // ---- adopting a database ----------------------------------------------------------------------------------------

  /**
   * Alembic's baseline is {@code alembic stamp REV}. Lockstep does not run Alembic's Python to learn what a revision
   * creates, so the plan lists the tables and says so. Refused when {@code alembic_version} already names a revision
   * (409) or the database has no tables (422), as for Flyway.
   */
  @Override
  public BaselinePlan baselinePlan(Connection c, MigrationSet set, String schema) throws SQLException {
    checkSchema(schema);
    String revision = plan(set, schema).target(); // resolves head, a prefix; refuses what the set lacks
    String stamped = null;
    try (var st = c.createStatement(); var exists = st.executeQuery("SELECT to_regclass('alembic_version') IS NOT NULL")) {
      exists.next();
      if (exists.getBoolean(1)) {
        try (var rs = st.executeQuery("SELECT string_agg(version_num, ',') FROM alembic_version")) {
          rs.next();
          stamped = rs.getString(1);
        }
      }
    }
    if (stamped != null) {
      throw LockstepException.conflict("the database is already at Alembic revision " + stamped + " (alembic_version):"
          + " it is adopted already and a baseline would rewrite what it says; release to move it on (lockstep"
          + " release), and see lockstep history");
    }
    List<String> tables = ApplicationTables.of(CatalogSnapshot.read(c), TOOL_TABLES);
    if (tables.isEmpty()) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "the database has no tables (outside"
          + " PostgreSQL's own schemas and lockstep): there is nothing to adopt; just release (lockstep release"
          + " --revision R), which applies every revision from the first");
    }
    return new BaselinePlan(revision, revision, "alembic stamp " + revision, tables, List.of(), null,
        List.of("Lockstep does not read Alembic's Python, so it cannot tell which revisions created these tables: check"
            + " by hand that the database has every change up to " + revision + " (alembic stamp records them as"
            + " applied without running them)"));
  }

  @Override
  public MigrationPlan plan(MigrationSet set, String requestedSchema) {
    try (AlembicProject.Workspace ws = project.workspace(set)) {
      AlembicRevisions graph = revisions(ws);
      if (graph.isEmpty()) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, set.origin() + " holds no Alembic revisions;"
            + " nothing to release a schema to");
      }
      Set<String> current = current(ws, graph);
      String currentLabel = current.isEmpty() ? null : String.join(",", current);
      Set<String> target = target(graph, current, requestedSchema, set.origin());
      Set<String> applied = graph.closure(current);
      if (target.equals(Set.of(AlembicRevisions.BASE)) || (target.size() == 1 && applied.containsAll(target)
          && !current.containsAll(target))) {
        String to = target.iterator().next();
        List<PendingMigration> undo = graph.downgrade(current, to).stream()
            .map(r -> PendingMigration.revision(r.id(), r.message(), r.file(), true, transactional(ws, r), false)).toList();
        return new MigrationPlan(currentLabel, to, undo);
      }
      List<AlembicRevisions.Revision> revisions = graph.upgrade(current, target);
      RevisionModules modules = known(ws).modules();
      List<PendingMigration> up = revisions.stream().map(r -> PendingMigration.revision(r.id(), r.message(), r.file(),
          false, transactional(ws, r), contract(modules, r))).toList();
      return MigrationPlan.upgrade(currentLabel, String.join(",", target), contractLast(graph, up));
    }
  }

  /**
   * Whether {@code r}'s module marks it a contract revision ({@code lockstep_phase = "contract"} at top level).
   *
   * @throws LockstepException UNPROCESSABLE for any other {@code lockstep_phase}, naming the file
   */
  private static boolean contract(RevisionModules modules, AlembicRevisions.Revision r) {
    RevisionModules.Module module = modules.of(r.file());
    if (module.phaseError() != null) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "revision " + r.id() + " (" + r.file() + "): "
          + module.phaseError() + ", e.g. lockstep_phase = \"contract\"");
    }
    if (module.phase() != null && !module.phase().equals(CONTRACT_PHASE)) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "revision " + r.id() + " (" + r.file() + ") sets"
          + " lockstep_phase = \"" + module.phase() + "\"; the one phase Lockstep knows is \"" + CONTRACT_PHASE + "\" (leave it"
          + " out for an ordinary revision)");
    }
    return module.phase() != null;
  }

  /** {@code lockstep_phase}'s one value. */
  static final String CONTRACT_PHASE = "contract";

  /**
   * The upgrade with its contract revisions moved after the others, which is the order CONTRACTING needs and one
   * Alembic can run, as long as no other revision descends from a contract revision; one that does must run after it,
   * so the release is refused naming both.
   */
  private static List<PendingMigration> contractLast(AlembicRevisions graph, List<PendingMigration> up) {
    List<PendingMigration> contract = up.stream().filter(PendingMigration::contract).toList();
    if (contract.isEmpty()) {
      return up;
    }
    for (PendingMigration c : contract) {
      for (PendingMigration m : up) {
        if (!m.contract() && graph.closure(Set.of(m.version())).contains(c.version())) {
          throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "contract revision " + c.version() + " ("
              + c.script() + ") comes before revision " + m.version() + " (" + m.script() + "), which descends from it"
              + " and is not a contract revision: a release's contract revisions run after the switch, so they must come"
              + " after all its other revisions; mark " + m.version() + " as contract too, or release in two steps (first"
              + " to " + c.version() + ", then the rest)");
        }
      }
    }
    List<PendingMigration> ordered = new ArrayList<>(up.stream().filter(m -> !m.contract()).toList());
    ordered.addAll(contract);
    return ordered;
  }

  /** The revisions {@code requested} names: the heads (null, {@code head}, {@code heads}), one revision, or {@code -N}. */
  private static Set<String> target(AlembicRevisions graph, Set<String> current, String requested, String origin) {
    if (requested == null || requested.equals("head") || requested.equals("heads")) {
      return new LinkedHashSet<>(graph.heads());
    }
    if (requested.equals(AlembicRevisions.BASE)) {
      return Set.of(AlembicRevisions.BASE);
    }
    OptionalInt down = SchemaVersions.stepsDown(requested);
    if (down.isPresent()) {
      return Set.of(graph.below(current, down.getAsInt()));
    }
    Set<String> ids = new LinkedHashSet<>();
    for (String part : requested.split(",")) {
      ids.add(graph.resolve(part.trim(), origin));
    }
    return ids;
  }

  private boolean transactional(AlembicProject.Workspace ws, AlembicRevisions.Revision r) {
    return !known(ws).modules().of(r.file()).autocommit();
  }

  @Override
  public List<AppliedMigration> migrate(MigrationSet set, MigrationPlan.Step step, long epoch, Consumer<String> output) {
    try (Steps steps = steps(set, epoch)) {
      return steps.apply(step, output);
    }
  }

  /**
   * The steps of a phase through one {@link AlembicRunner} (one Python process, {@link AlembicDriver}), started at
   * the first step: the fence is checked and its trigger put in place before every step, as before.
   */
  @Override
  public Steps steps(MigrationSet set, long epoch) {
    return new Steps() {
      private AlembicProject.Workspace ws;
      private AlembicRunner runner;

      @Override
      public synchronized List<AppliedMigration> apply(MigrationPlan.Step step, Consumer<String> output) {
        prepareFence(epoch);
        if (runner == null) {
          Spare spare = spares.remove(spareKey(set, epoch));
          ws = spare != null ? spare.ws() : project.workspace(set);
          runner = spare != null ? spare.runner() : open(ws, fenced(epoch));
        }
        List<AppliedMigration> applied = new ArrayList<>();
        for (String[] args : commands(ws, step, database)) {
          AlembicProgress progress = new AlembicProgress(set, output);
          AlembicCommand.Result result = runner.run(progress, args);
          noteVersionTable(runner);
          if (!result.succeeded()) {
            // Nothing of this run is reported as applied: in one transaction (Alembic's default) it rolled back;
            // the message says where the database is now, read from alembic_version.
            throw failure(ws, set, args, result, progress, epoch);
          }
          progress.succeeded();
          applied.addAll(progress.done());
        }
        return applied;
      }

      @Override
      public synchronized void close() {
        if (runner != null) {
          runner.close();
          ws.close();
        }
      }
    };
  }

  /**
   * The driver for MIGRATING's steps, started when PREFLIGHT begins: its Python start and its read of the revisions
   * (0.3–0.5 s, more on a long chain) then overlap the rehearsal and the fleet's prepare instead of delaying the
   * first migration. It runs with the same fenced environment {@link #steps} would give it, and connects to nothing
   * until its first command.
   */
  @Override
  public Ahead stepsAhead(MigrationSet set, long epoch) {
    String key = spareKey(set, epoch);
    AlembicProject.Workspace ws = project.workspace(set);
    Spare spare = new Spare(ws, AlembicRunner.starting(command, ws, fenced(epoch)));
    Spare replaced = spares.put(key, spare);
    if (replaced != null) {
      replaced.end();
    }
    return () -> {
      if (spares.remove(key, spare)) {
        spare.end();
      }
    };
  }

  /** A driver {@link #stepsAhead} started, with the copy of the project it runs in. */
  private record Spare(AlembicProject.Workspace ws, AlembicRunner runner) {
    /** In the background: the driver may still be importing, and ends when it has (or is killed after 5 s). */
    void end() {
      Thread ender = new Thread(() -> {
        runner.close();
        ws.close();
      }, "alembic-driver-unused");
      ender.setDaemon(true);
      ender.start();
    }
  }

  private static String spareKey(MigrationSet set, long epoch) {
    return set.digest() + "@" + epoch;
  }

  /** What a fenced run of {@code epoch} is given: the session settings the fence's trigger checks. */
  private Map<String, String> fenced(long epoch) {
    return AlembicFence.sessionOptions(service, epoch, lockTimeout.toMillis(), Fence.migrationApplicationName(service));
  }

  private AlembicRunner open(AlembicProject.Workspace ws, Map<String, String> env) {
    return AlembicRunner.open(command, ws, env);
  }

  /**
   * The runs a step needs: {@code upgrade R} for each tip of the step (a revision of it that no other of it descends
   * from: one, unless the step ends on several branches; Alembic applies a tip's unapplied ancestors, which are the
   * step's revisions), or for an undo the {@code downgrade} that undoes its one revision alone ({@link #undoTarget}).
   *
   * @param target the database of the runs (the live one, or the rehearsal's clone)
   */
  private List<String[]> commands(AlembicProject.Workspace ws, MigrationPlan.Step step, DatabaseUrl target) {
    if (step.undo()) {
      return java.util.Collections.singletonList(new String[] {"downgrade", undoTarget(ws, step.migrations().get(0), target)});
    }
    AlembicRevisions graph = revisions(ws);
    List<String> ids = step.migrations().stream().map(PendingMigration::version).toList();
    List<String[]> runs = new ArrayList<>();
    for (String id : ids) {
      boolean below = ids.stream().anyMatch(other -> !other.equals(id) && graph.closure(Set.of(other)).contains(id));
      if (!below) {
        runs.add(new String[] {"upgrade", id});
      }
    }
    return runs;
  }

  /**
   * What {@code alembic downgrade} is given to undo {@code m} and nothing else (the plan undoes newest first, so
   * {@code m} is a current head): {@code R@-1} for a revision with one parent ({@code R-1} would name the parent,
   * and {@code downgrade <parent>} also undoes the parent's other applied descendants, such as a sibling branch);
   * for a merge, which {@code @-1} cannot walk ("Ambiguous walk"), a parent that only the merge descends from.
   */
  private String undoTarget(AlembicProject.Workspace ws, PendingMigration m, DatabaseUrl target) {
    AlembicRevisions graph = revisions(ws);
    AlembicRevisions.Revision r = graph.get(m.version());
    if (r == null || !r.merge()) {
      return m.version() + "@-1";
    }
    String to = graph.unmergeTarget(r.id(), graph.closure(current(ws, graph, target)));
    if (to == null) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "merge revision " + r.id() + " cannot be undone"
          + " alone: each of its parents (" + String.join(", ", r.parents()) + ") has another applied descendant, and"
          + " Alembic's downgrade undoes all of them, so no single alembic downgrade undoes only this step; downgrade"
          + " past it by hand with alembic (nothing was changed)");
    }
    return to;
  }

  private void prepareFence(long epoch) {
    try (Connection c = new Connections(database).open(Fence.migrationApplicationName(service))) {
      c.setAutoCommit(false);
      Fence.checkEpoch(c, service, epoch);
      AlembicFence.install(c);
      c.commit();
    } catch (SQLException e) {
      throw new LockstepException(LockstepException.Code.MIGRATION_FAILED, "cannot put Lockstep's fence on alembic_version: "
          + e.getMessage() + " (SQL state " + e.getSQLState() + ")", e);
    }
  }

  private LockstepException failure(AlembicProject.Workspace ws, MigrationSet set, String[] args,
                                    AlembicCommand.Result result, AlembicProgress progress, long epoch) {
    String text = String.join("\n", result.lines());
    Matcher fenced = FENCED.matcher(text);
    long held = fenceEpoch();
    if (fenced.find() || (held >= 0 && held != epoch)) {
      return LockstepException.fenced(service, epoch, held);
    }
    String where;
    try {
      Set<String> now = current(ws, revisions(ws));
      where = now.isEmpty() ? "no revision (base)" : String.join(", ", now);
    } catch (LockstepException e) {
      where = "unknown (reading the current revision failed: " + e.getMessage() + ")";
    }
    String revision = progress.running() == null ? "" : " in revision " + progress.running();
    String sql = result.failedSql();
    String message = "alembic " + String.join(" ", args) + " failed" + revision + ": " + result.error()
        + (sql == null ? "" : " [SQL: " + abbreviate(sql, 300) + "]") + "; the database is at " + where;
    // psycopg2 names the SQL state by its class; a lock_timeout is retried as for Flyway (Migrating), so say 55P03.
    java.sql.SQLException cause = text.contains("LockNotAvailable") || text.contains("canceling statement due to lock timeout")
        ? new java.sql.SQLException(result.error(), "55P03") : null;
    return new LockstepException(LockstepException.Code.MIGRATION_FAILED, message, cause);
  }

  /** The service's epoch in the fence now, or -1 if it cannot be read. */
  private long fenceEpoch() {
    try (Connection c = new Connections(database).open("lockstep-info/" + service)) {
      return EpochCheck.current(c, service);
    } catch (SQLException e) {
      return -1;
    }
  }


  @Override
  public MigrationHistory history(MigrationSet set, String service) {
    try (AlembicProject.Workspace ws = project.workspace(set)) {
      AlembicRevisions graph = revisions(ws);
      Set<String> current = current(ws, graph);
      Set<String> applied = graph.closure(current);
      List<MigrationHistory.Entry> done = new ArrayList<>();
      List<MigrationHistory.Entry> pending = new ArrayList<>();
      List<AlembicRevisions.Revision> oldestFirst = new ArrayList<>(graph.all());
      java.util.Collections.reverse(oldestFirst);
      RevisionModules modules = known(ws).modules();
      for (AlembicRevisions.Revision r : oldestFirst) {
        boolean in = applied.contains(r.id());
        (in ? done : pending).add(new MigrationHistory.Entry(r.id(), r.message(), r.file(), in ? "Applied" : "Pending",
            null, null, null, null, null, CONTRACT_PHASE.equals(modules.of(r.file()).phase())));
      }
      return new MigrationHistory(service, current.isEmpty() ? null : String.join(",", current), done, pending, List.of(),
          set.origin(), null);
    }
  }

  /** {@code alembic stamp <version>}, fenced: Alembic's own way to record a revision without running it. */
  @Override
  public void baseline(MigrationSet set, String version, long epoch) {
    prepareFence(epoch);
    try (AlembicProject.Workspace ws = project.workspace(set)) {
      String revision = revisions(ws).resolve(version, set.origin());
      AlembicCommand.Result result = command.run(ws, fenced(epoch), line -> {}, "stamp", revision);
      if (!result.succeeded()) {
        if (FENCED.matcher(String.join("\n", result.lines())).find()) {
          throw LockstepException.fenced(service, epoch, fenceEpoch());
        }
        throw new LockstepException(LockstepException.Code.CONFLICT, "alembic stamp " + revision + " failed: "
            + result.error());
      }
    }
  }

  /**
   * Alembic, unfenced, on another database (a scratch clone of the schema, for the rehearsal), through one
   * {@link AlembicRunner} for all the runs {@link Rehearsal#run} is given; close it to end the process and delete the
   * copy of the project. Returns at once: the process starts now, and {@code clone} need not exist before the first run.
   */
  Rehearsal rehearsal(MigrationSet set, DatabaseUrl clone) {
    AlembicProject.Workspace ws = project.workspace(set);
    Map<String, String> env = new HashMap<>(AlembicFence.unfenced("lockstep-rehearsal/" + service));
    env.put("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(clone));
    return new Rehearsal(ws, clone, AlembicRunner.starting(command, ws, env));
  }

  /** See {@link #rehearsal}. */
  final class Rehearsal implements AutoCloseable {
    private final AlembicProject.Workspace ws;
    private final DatabaseUrl clone;
    private final AlembicRunner runner;
    private volatile String running;
    private final AlembicRunner.Listener listener = new AlembicRunner.Listener() {
      @Override
      public void text(String line) {}

      @Override
      public void revision(String step) {
        running = step;
      }
    };

    private Rehearsal(AlembicProject.Workspace ws, DatabaseUrl clone, AlembicRunner runner) {
      this.ws = ws;
      this.clone = clone;
      this.runner = runner;
    }

    /**
     * {@code steps} of {@code plan}, as the release runs them (MIGRATING's, then CONTRACTING's).
     *
     * @param stamp whether the clone is fresh and must first be stamped where the live database is
     */
    AlembicCommand.Result run(MigrationPlan plan, List<MigrationPlan.Step> steps, boolean stamp) {
      if (stamp && plan.current() != null) {
        // The clone has no rows, so no alembic_version row either: stamp it where the live database is first.
        List<String> args = new ArrayList<>(List.of("stamp"));
        args.addAll(List.of(plan.current().split(",")));
        running = null;
        AlembicCommand.Result stamped = runner.run(AlembicRunner.QUIET, args.toArray(String[]::new));
        if (!stamped.succeeded()) {
          return stamped;
        }
      }
      // The same runs, step by step, as the release itself makes (migrate), so the rehearsal does what it will do.
      AlembicCommand.Result last = null;
      for (MigrationPlan.Step step : steps) {
        for (String[] args : commands(ws, step, clone)) {
          running = null;
          last = runner.run(listener, args);
          noteVersionTable(runner);
          if (!last.succeeded()) {
            return last;
          }
        }
      }
      return last != null ? last : new AlembicCommand.Result(List.of(), 0, false, List.of());
    }

    /** The revision step the last run started last ({@code upgrade a1 -> b2, msg}), or null. */
    String running() {
      return running;
    }

    @Override
    public void close() {
      runner.close();
      ws.close();
    }
  }

  /** The set's revision graph. */
  private AlembicRevisions revisions(AlembicProject.Workspace ws) {
    return known(ws).graph();
  }

  /**
   * The set's graph and modules, once per set: by {@link AlembicDriver#inspect} (one Python process, which also runs
   * env.py as {@code alembic current} does, so a variable env.py needs is named before anything is locked, and checks
   * the SQL read of {@code alembic_version} against what Alembic sees), else by {@code alembic history --verbose} and
   * {@code revision_modules.py}.
   */
  private Known known(AlembicProject.Workspace ws) {
    return known.get(ws.digest(), () -> read(ws));
  }

  private Known read(AlembicProject.Workspace ws) {
    AlembicDriver.Inspection seen = AlembicDriver.inspect(command, ws, AlembicFence.unfenced("lockstep-info/" + service),
        QUESTION_TIMEOUT);
    if (seen == null) {
      return new Known(readRevisions(ws), RevisionModules.read(command.python(), ws.set(), QUESTION_TIMEOUT));
    }
    if (seen.history() == null) {
      throw refused("reading the Alembic project (history, current)", seen.result());
    }
    AlembicRevisions graph = AlembicRevisions.parse(seen.history());
    if (seen.versionTable() != null && !seen.versionTable().isDefault()) {
      noteVersionTable(seen.versionTable());
    } else if (currentSource == CurrentSource.UNCHECKED && seen.heads() != null && !graph.isEmpty()) {
      check(seen.heads(), sqlCurrent(graph, database));
    }
    return new Known(graph, RevisionModules.from(seen.modules()));
  }

  private AlembicRevisions readRevisions(AlembicProject.Workspace ws) {
    AlembicCommand.Result result = questions.run(ws, AlembicFence.unfenced("lockstep-info/" + service), line -> {},
        "history", "--verbose");
    if (!result.succeeded()) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "alembic history failed: " + result.error()
          + "\n" + result.tail(12));
    }
    return AlembicRevisions.parse(result.lines());
  }

  /** The revisions the live database is at (none: base). */
  private Set<String> current(AlembicProject.Workspace ws, AlembicRevisions graph) {
    return current(ws, graph, database);
  }

  /**
   * The revisions {@code target} is at, read with SQL from {@code alembic_version} ({@link AlembicVersions}). The
   * first time (per engine) {@code alembic current} is asked too: it runs env.py, so a variable env.py needs is named
   * before anything is locked, and if it disagrees with the table (env.py keeps its revisions in another table), or
   * env.py names a {@code version_table}, Lockstep keeps asking {@code alembic current} from then on.
   */
  private Set<String> current(AlembicProject.Workspace ws, AlembicRevisions graph, DatabaseUrl target) {
    if (currentSource == CurrentSource.ALEMBIC) {
      return alembicCurrent(ws, graph, target);
    }
    Set<String> bySql = sqlCurrent(graph, target);
    if (currentSource == CurrentSource.UNCHECKED && target.equals(database)) {
      Set<String> byAlembic = alembicCurrent(ws, graph, target);
      return check(byAlembic, bySql) ? bySql : byAlembic;
    }
    return bySql;
  }

  /** Whether Alembic and the SQL read agree; from now on the SQL read is used if they do, {@code alembic current} if not. */
  private boolean check(Set<String> byAlembic, Set<String> bySql) {
    if (!byAlembic.equals(bySql)) {
      LOG.warn("alembic current says {} but alembic_version holds {}: env.py keeps its revisions elsewhere;"
          + " asking alembic current from now on", byAlembic, bySql);
      currentSource = CurrentSource.ALEMBIC;
      return false;
    }
    currentSource = CurrentSource.SQL;
    return true;
  }

  /** Where the current revisions come from: unchecked yet, {@code alembic_version} by SQL, or {@code alembic current}. */
  private enum CurrentSource { UNCHECKED, SQL, ALEMBIC }

  private volatile CurrentSource currentSource;

  /** Drivers started ahead for MIGRATING ({@link #stepsAhead}), by set digest and epoch. */
  private final Map<String, Spare> spares = new java.util.concurrent.ConcurrentHashMap<>();

  /** After a driver run: env.py that configures another version table makes the SQL read wrong, so it stops. */
  private void noteVersionTable(AlembicRunner runner) {
    AlembicDriver.VersionTable table = runner.versionTable();
    if (table != null && !table.isDefault()) {
      noteVersionTable(table);
    }
  }

  private void noteVersionTable(AlembicDriver.VersionTable table) {
    if (currentSource != CurrentSource.ALEMBIC) {
      LOG.warn("env.py keeps Alembic's revisions in {}, not alembic_version: asking alembic current from now on", table);
      currentSource = CurrentSource.ALEMBIC;
    }
  }

  private Set<String> sqlCurrent(AlembicRevisions graph, DatabaseUrl target) {
    Set<String> heads;
    try (Connection c = new Connections(target).open("lockstep-info/" + service)) {
      heads = AlembicVersions.read(c, AlembicDriver.VersionTable.DEFAULT);
    } catch (SQLException e) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "cannot read alembic_version on " + target
          + ": " + e.getMessage() + " (SQL state " + e.getSQLState() + "; nothing was locked or changed)", e);
    }
    for (String id : heads) {
      if (graph.get(id) == null) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "alembic_version names revision " + id
            + ", which the migration set does not hold (its heads are " + String.join(", ", graph.heads()) + "): the"
            + " database was migrated with revisions this set lacks; release the set that has " + id
            + " (nothing was locked or changed)");
      }
    }
    return heads;
  }

  /** The revisions {@code alembic current} names on {@code target} (none: base). */
  private Set<String> alembicCurrent(AlembicProject.Workspace ws, AlembicRevisions graph, DatabaseUrl target) {
    Map<String, String> env = new HashMap<>(AlembicFence.unfenced("lockstep-info/" + service));
    if (!target.equals(database)) {
      env.put("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(target));
    }
    AlembicCommand.Result result = questions.run(ws, env, line -> {}, "current");
    if (!result.succeeded()) {
      throw refused("alembic current", result);
    }
    Set<String> current = new LinkedHashSet<>();
    for (String line : result.lines()) {
      String id = line.trim().split("\\s+")[0];
      if (!line.startsWith(" ") && graph.get(id) != null) {
        current.add(id);
      }
    }
    return current;
  }

  /** Why env.py (or Alembic) refused a question: a variable it needs, named, or its error. */
  private static LockstepException refused(String what, AlembicCommand.Result result) {
    Matcher missing = MISSING_VARIABLE.matcher(String.join("\n", result.lines()));
    if (missing.find()) {
      return new LockstepException(LockstepException.Code.UNPROCESSABLE, "Alembic's env.py needs the environment variable "
          + missing.group(1) + ", which the coordinator does not give it: pass --engine-env " + missing.group(1)
          + "=… or put it in --engine-env-file (nothing was locked or changed)");
    }
    return new LockstepException(LockstepException.Code.UNPROCESSABLE, what + " failed: " + result.error()
        + " (nothing was locked or changed)\n" + result.tail(12));
  }

  private static String abbreviate(String text, int max) {
    return text.length() <= max ? text : text.substring(0, max) + "…";
  }
}
