package dev.lockstep.coordinator.migration.alembic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.LockstepSchema;
import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.testkit.AlembicCorpus;
import dev.lockstep.testkit.SchemaDump;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Alembic engine on two real projects' chains (from {@code shared/corpora/alembic}, see their SOURCE.md): the
 * 273 revisions of osparc-simcore, with three branch points, three merges and three {@code autocommit_block}
 * revisions, and PowerDNS-Admin's 22, whose downgrade breaks at step 19 on PostgreSQL. Each release through the
 * engine is compared with plain {@code alembic} on another empty database: same revisions in the same order, same
 * schema. Each test owns its databases.
 */
class AlembicCorpusIT {
  private static final String SERVICE = "corpus";
  /** {@code INFO  [alembic.runtime.migration] Running upgrade a, b -> c, message}: the revision is after the arrow. */
  private static final Pattern RUNNING_UPGRADE = Pattern.compile(".*Running upgrade .*? -> ([A-Za-z0-9_]+), .*");

  private final List<TestDatabase> databases = new ArrayList<>();

  @AfterEach
  void dropDatabases() {
    databases.forEach(TestDatabase::close);
  }

  @Test
  void osparcSimcoreReleasedToHeadThroughTheEngineIsPlainAlembicsSchemaInAlembicsOrder() throws Exception {
    TestDatabase plain = database("AlembicCorpusIT_osparc_plain");
    long plainStart = System.nanoTime();
    Plain upgraded = plainAlembic("osparc-simcore", plain, Map.of(), "upgrade", "heads");
    long plainMs = (System.nanoTime() - plainStart) / 1_000_000;
    assertThat(upgraded.exitCode()).as(upgraded.tail()).isZero();
    List<String> alembicOrder = upgraded.upgraded();
    assertThat(alembicOrder).hasSize(273).doesNotHaveDuplicates();

    TestDatabase db = lockstepDatabase("AlembicCorpusIT_osparc_engine");
    DatabaseUrl url = DatabaseUrl.parse(db.postgresUrl());
    AlembicEngine engine = engine("osparc-simcore", url);
    MigrationSet set = engine.folderSet();
    assertThat(set.kind()).isEqualTo(MigrationSet.Kind.ALEMBIC);

    long planStart = System.nanoTime();
    MigrationPlan plan = engine.plan(set, "head");
    long planMs = (System.nanoTime() - planStart) / 1_000_000;
    assertThat(plan.current()).isNull();
    assertThat(plan.target()).isEqualTo("3f8c0e8d11a4");
    assertThat(plan.downgrade()).isFalse();
    List<String> planned = plan.pending().stream().map(PendingMigration::version).toList();
    assertThat(planned).as("the plan holds every revision, in the order plain alembic ran them")
        .containsExactlyElementsOf(alembicOrder);
    assertThat(planned.get(0)).isEqualTo("645807399320");

    Map<String, List<String>> merges = Map.of(
        "f641b3eacafd", List.of("06596ce2bc3e", "a6289977e057"),
        "e108d9f673fe", List.of("5649397a81bf", "ae72826e75fc"),
        "7c552b906888", List.of("61fa093c21bb", "e108d9f673fe"));
    merges.forEach((merge, parents) -> parents.forEach(parent -> assertThat(planned.indexOf(merge))
        .as("merge %s comes after its parent %s", merge, parent).isGreaterThan(planned.indexOf(parent))));
    for (String branchPoint : List.of("9dddb16914a4", "e3334cced752", "ae72826e75fc")) {
      assertThat(planned).contains(branchPoint);
    }

    Set<String> autocommit = Set.of("c2d3acc313e1", "ead667546b12", "be0dece4e67c");
    for (PendingMigration m : plan.pending()) {
      assertThat(m.transactional()).as("%s transactional", m.version()).isEqualTo(!autocommit.contains(m.version()));
    }
    List<MigrationPlan.Step> steps = plan.steps();
    for (String id : autocommit) {
      assertThat(steps).as("%s is a step of its own, outside a transaction", id)
          .anySatisfy(step -> {
            assertThat(step.migrations()).extracting(PendingMigration::version).containsExactly(id);
            assertThat(step.transactional()).isFalse();
          });
    }
    assertThat(steps.stream().flatMap(s -> s.migrations().stream()).map(PendingMigration::version).toList())
        .containsExactlyElementsOf(planned);
    assertThat(steps).hasSize(7); // 3 autocommit steps and the 4 runs of transactional revisions around them

    long epoch = takeFence(url);
    List<AppliedMigration> applied = new ArrayList<>();
    List<String> events = new ArrayList<>();
    long engineStart = System.nanoTime();
    // As a release's MIGRATING applies them: one engine session (one Alembic driver process) for all steps.
    try (var session = engine.steps(set, epoch)) {
      for (MigrationPlan.Step step : steps) {
        List<AppliedMigration> done = session.apply(step, events::add);
        assertThat(done).extracting(AppliedMigration::version).as("what step %s applied", step.target())
            .containsExactlyElementsOf(step.migrations().stream().map(PendingMigration::version).toList());
        applied.addAll(done);
      }
    }
    long engineMs = (System.nanoTime() - engineStart) / 1_000_000;

    assertThat(applied).extracting(AppliedMigration::version).as("applied: the plan's ids, in order, each once")
        .containsExactlyElementsOf(planned);
    assertThat(applied).allSatisfy(a -> assertThat(a.script()).as(a.version()).startsWith(a.version() + "_").endsWith(".py"));
    assertThat(events).hasSize(273).allMatch(e -> e.startsWith("alembic: Running upgrade"));
    assertThat(db.queryTexts("SELECT version_num FROM alembic_version")).containsExactly("3f8c0e8d11a4");
    assertThat(plain.queryTexts("SELECT version_num FROM alembic_version")).containsExactly("3f8c0e8d11a4");
    assertThat(SchemaDump.of(db, SchemaDump.Exclusions.LOCKSTEP))
        .isEqualTo(SchemaDump.of(plain, SchemaDump.Exclusions.LOCKSTEP));
    assertThat(engine.plan(set, "head").pending()).isEmpty();

    System.out.printf("AlembicCorpusIT osparc-simcore: %d revisions; plain `alembic upgrade heads` %d ms; through the"
        + " engine: plan %d ms, migrate %d ms in %d steps (%s migrations per step)%n", planned.size(), plainMs, planMs,
        engineMs, steps.size(), steps.stream().map(s -> String.valueOf(s.migrations().size())).toList());
  }

  /**
   * Undoing osparc-simcore's nested merges one revision at a time, as the plan's undo steps say: 6e9f34338072 (above
   * the merge 7c552b906888 of 61fa093c21bb and the merge e108d9f673fe, itself of 5649397a81bf and the branch point
   * ae72826e75fc) down to the branch point e3334cced752. Plain {@code alembic downgrade <merge>-1} fails with
   * "Ambiguous walk", and {@code downgrade <R>-1} (to R's parent) also undoes every other applied descendant of that
   * parent, so each step must name the Alembic target that undoes its revision alone.
   */
  @Test
  void osparcSimcoreDowngradedThroughItsNestedMergesUndoesOneRevisionPerStep() throws Exception {
    TestDatabase plain = database("AlembicCorpusIT_osparc_merges_plain");
    Plain plainUp = plainAlembic("osparc-simcore", plain, Map.of(), "upgrade", "6e9f34338072");
    assertThat(plainUp.exitCode()).as(plainUp.tail()).isZero();
    Plain plainDown = plainAlembic("osparc-simcore", plain, Map.of(), "downgrade", "e3334cced752");
    assertThat(plainDown.exitCode()).as(plainDown.tail()).isZero();

    TestDatabase db = lockstepDatabase("AlembicCorpusIT_osparc_merges_engine");
    DatabaseUrl url = DatabaseUrl.parse(db.postgresUrl());
    AlembicEngine engine = engine("osparc-simcore", url);
    MigrationSet set = engine.folderSet();
    long epoch = takeFence(url);
    for (MigrationPlan.Step step : engine.plan(set, "6e9f34338072").steps()) {
      engine.migrate(set, step, epoch, line -> {});
    }
    assertThat(db.queryTexts("SELECT version_num FROM alembic_version")).containsExactly("6e9f34338072");

    MigrationPlan down = engine.plan(set, "e3334cced752");
    assertThat(down.downgrade()).isTrue();
    assertThat(down.pending()).extracting(PendingMigration::version).containsExactly("6e9f34338072", "7c552b906888",
        "61fa093c21bb", "e108d9f673fe", "5649397a81bf", "ae72826e75fc");
    List<MigrationPlan.Step> undo = down.steps();
    assertThat(undo).hasSize(6);
    long undoEpoch = takeFence(url);
    for (MigrationPlan.Step step : undo) {
      PendingMigration m = step.migrations().get(0);
      List<AppliedMigration> done = engine.migrate(set, step, undoEpoch, line -> {});
      assertThat(done).as("undo step %s", m.label()).extracting(AppliedMigration::version).containsExactly(m.version());
      assertThat(done.get(0).description()).isEqualTo("undo " + m.description());
      assertThat(engine.history(set, SERVICE).applied()).extracting(h -> h.version()).doesNotContain(m.version());
    }
    assertThat(db.queryTexts("SELECT version_num FROM alembic_version")).containsExactly("e3334cced752");
    assertThat(plain.queryTexts("SELECT version_num FROM alembic_version")).containsExactly("e3334cced752");
    assertThat(SchemaDump.of(db, SchemaDump.Exclusions.LOCKSTEP))
        .isEqualTo(SchemaDump.of(plain, SchemaDump.Exclusions.LOCKSTEP));
  }

  @Test
  void powerdnsAdminReleasedToHeadIsPlainAlembicsAndItsDowngradeStopsAtTheBrokenStepNamingIt() throws Exception {
    TestDatabase plain = database("AlembicCorpusIT_pdns_plain");
    long plainStart = System.nanoTime();
    Plain upgraded = plainAlembic("powerdns-admin", plain, Map.of(), "upgrade", "heads");
    long plainMs = (System.nanoTime() - plainStart) / 1_000_000;
    assertThat(upgraded.exitCode()).as(upgraded.tail()).isZero();

    TestDatabase db = lockstepDatabase("AlembicCorpusIT_pdns_engine");
    DatabaseUrl url = DatabaseUrl.parse(db.postgresUrl());
    AlembicEngine engine = engine("powerdns-admin", url);
    MigrationSet set = engine.folderSet();
    MigrationPlan plan = engine.plan(set, "head");
    assertThat(plan.target()).isEqualTo("f4a5b6c7d8e9");
    assertThat(plan.pending()).extracting(PendingMigration::version).containsExactlyElementsOf(upgraded.upgraded())
        .hasSize(22);
    long epoch = takeFence(url);
    List<String> applied = new ArrayList<>();
    long engineStart = System.nanoTime();
    for (MigrationPlan.Step step : plan.steps()) {
      engine.migrate(set, step, epoch, line -> {}).forEach(a -> applied.add(a.version()));
    }
    long engineMs = (System.nanoTime() - engineStart) / 1_000_000;
    assertThat(applied).containsExactlyElementsOf(upgraded.upgraded());
    assertThat(db.queryTexts("SELECT version_num FROM alembic_version")).containsExactly("f4a5b6c7d8e9");
    assertThat(SchemaDump.of(db, SchemaDump.Exclusions.LOCKSTEP))
        .isEqualTo(SchemaDump.of(plain, SchemaDump.Exclusions.LOCKSTEP));

    MigrationPlan down = engine.plan(set, "base");
    assertThat(down.downgrade()).isTrue();
    assertThat(down.current()).isEqualTo("f4a5b6c7d8e9");
    assertThat(down.target()).isEqualTo("base");
    List<String> undoOrder = new ArrayList<>(upgraded.upgraded());
    java.util.Collections.reverse(undoOrder);
    assertThat(down.pending()).extracting(PendingMigration::version).containsExactlyElementsOf(undoOrder);
    List<MigrationPlan.Step> undo = down.steps();
    assertThat(undo).hasSize(22).allMatch(s -> s.undo() && s.migrations().size() == 1);
    assertThat(undo.get(18).target()).isEqualTo("4a666113c7bb"); // SOURCE.md: step 19, UPDATE user … unquoted

    long undoEpoch = takeFence(url);
    List<String> undone = new ArrayList<>();
    LockstepException failure = null;
    int failedStep = -1;
    for (int i = 0; i < undo.size(); i++) {
      try {
        List<AppliedMigration> done = engine.migrate(set, undo.get(i), undoEpoch, line -> {});
        assertThat(done).extracting(AppliedMigration::version).containsExactly(undo.get(i).target());
        assertThat(done.get(0).description()).startsWith("undo ");
        undone.add(done.get(0).version());
      } catch (LockstepException e) {
        failure = e;
        failedStep = i + 1;
        break;
      }
    }
    if (failure == null) {
      fail("the downgrade to base went through, but 4a666113c7bb's downgrade runs UPDATE user … unquoted");
    }
    System.out.println("AlembicCorpusIT powerdns-admin downgrade failure: " + failure.getMessage());
    assertThat(failedStep).isEqualTo(19);
    assertThat(undone).containsExactlyElementsOf(undoOrder.subList(0, 18));
    assertThat(failure.is(LockstepException.Code.MIGRATION_FAILED)).as(failure.code().toString()).isTrue();
    assertThat(failure.getMessage())
        .contains("in revision 4a666113c7bb (Adding Operator Role)")
        .contains("psycopg2.errors.SyntaxError")
        .contains("syntax error at or near \"user\"")
        .contains("UPDATE user SET role_id = 2 WHERE role_id=3")
        .endsWith("the database is at 4a666113c7bb");
    // The failed undo rolled back with its version-table write: the revision being undone is still applied, and the
    // schema is what plain alembic leaves when it stops at the same step (one transaction per migration).
    assertThat(db.queryTexts("SELECT version_num FROM alembic_version")).containsExactly("4a666113c7bb");
    assertThat(db.queryLong("SELECT count(*) FROM role WHERE name = 'Operator'"))
        .as("4a666113c7bb's undo deletes the Operator role; it was rolled back").isEqualTo(1);
    Plain plainDown = plainAlembic("powerdns-admin", plain, Map.of("ALEMBIC_TXN_PER_MIGRATION", "1"), "downgrade", "base");
    assertThat(plainDown.exitCode()).isNotZero();
    assertThat(plain.queryTexts("SELECT version_num FROM alembic_version")).containsExactly("4a666113c7bb");
    assertThat(SchemaDump.of(db, SchemaDump.Exclusions.LOCKSTEP))
        .isEqualTo(SchemaDump.of(plain, SchemaDump.Exclusions.LOCKSTEP));
    MigrationPlan rest = engine.plan(set, "base");
    assertThat(rest.current()).isEqualTo("4a666113c7bb");
    assertThat(rest.pending()).extracting(PendingMigration::version).containsExactlyElementsOf(undoOrder.subList(18, 22));

    System.out.printf("AlembicCorpusIT powerdns-admin: 22 revisions; plain `alembic upgrade heads` %d ms; through the"
        + " engine %d ms in %d step(s); downgrade to base failed at step %d of %d%n", plainMs, engineMs,
        plan.steps().size(), failedStep, undo.size());
  }

  private TestDatabase database(String hint) {
    TestDatabase db = TestPostgres.instance().createDatabase(hint);
    databases.add(db);
    return db;
  }

  private TestDatabase lockstepDatabase(String hint) throws Exception {
    TestDatabase db = database(hint);
    try (Connection c = new Connections(DatabaseUrl.parse(db.postgresUrl())).open("test-setup")) {
      LockstepSchema.ensure(c);
    }
    return db;
  }

  private static AlembicEngine engine(String corpus, DatabaseUrl url) {
    Map<String, String> env = new HashMap<>();
    env.put("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(url));
    return new AlembicEngine(AlembicProject.open(AlembicCorpus.ini(corpus)),
        new AlembicCommand(List.of("alembic"), env, Duration.ofMinutes(10)), url, SERVICE, Duration.ofSeconds(30));
  }

  private static long takeFence(DatabaseUrl url) throws Exception {
    try (Fence.Held held = Fence.acquire(new Connections(url).open("fence"), SERVICE, "test")) {
      return held.epoch();
    }
  }

  /** What plain {@code alembic} printed (stdout and stderr together) and its exit code. */
  private record Plain(int exitCode, List<String> lines) {
    /** The revisions of the {@code Running upgrade X -> Y} lines, in the order alembic ran them. */
    List<String> upgraded() {
      List<String> ids = new ArrayList<>();
      for (String line : lines) {
        Matcher m = RUNNING_UPGRADE.matcher(line);
        if (m.matches()) {
          ids.add(m.group(1));
        }
      }
      return ids;
    }

    String tail() {
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }
  }

  /** The real command, run as an operator would, from the corpus's (read-only) folder, on {@code db}. */
  private static Plain plainAlembic(String corpus, TestDatabase db, Map<String, String> extra, String... args)
      throws Exception {
    Path folder = AlembicCorpus.folder(corpus);
    List<String> command = new ArrayList<>(List.of("alembic", "-c", folder.resolve("alembic.ini").toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(folder.toFile()).redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    builder.environment().put("DATABASE_URL", AlembicEnvironment.sqlalchemyUrl(DatabaseUrl.parse(db.postgresUrl())));
    builder.environment().put("PYTHONDONTWRITEBYTECODE", "1");
    builder.environment().putAll(extra);
    Process process = builder.start();
    List<String> lines = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        lines.add(line);
      }
    }
    if (!process.waitFor(10, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      fail("alembic " + String.join(" ", args) + " did not finish in 10 minutes");
    }
    return new Plain(process.exitValue(), List.copyOf(lines));
  }
}
