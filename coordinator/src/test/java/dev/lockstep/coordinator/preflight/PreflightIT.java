package dev.lockstep.coordinator.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.migration.flyway.FlywayEngine;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.ReleaseOptions;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.FlywayChecksum;
import dev.lockstep.rules.InspectionContext;
import dev.lockstep.rules.RuleEngine;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pre-flight against a real PostgreSQL: the rehearsal runs repairs and migrations in a transaction
 * that is rolled back, decides the mode from the catalog before and after, and guards against data
 * loss — and leaves the database exactly as it was.
 */
class PreflightIT {
  private static final ReleaseOptions AUTO = ReleaseOptions.defaults();

  @TempDir
  Path folder;
  private TestDatabase db;
  private Connections connections;
  private FlywayEngine migrations;
  private Preflight preflight;

  @BeforeEach
  void createDatabase() throws Exception {
    db = TestPostgres.instance().createDatabase("PreflightIT");
    DatabaseUrl url = DatabaseUrl.parse(db.postgresUrl());
    connections = new Connections(url);
    migrations = new FlywayEngine(url, folder, "preflight", Duration.ofSeconds(5));
    // The rehearsal's lock_timeout is the engine's: 2 s here, so a blocked rehearsal gives up quickly.
    preflight = new Preflight(new RuleEngine(List.of()), InspectionContext.empty(),
        new FlywayEngine(url, folder, "preflight", Duration.ofSeconds(2)));
    write("V1__base.sql", """
        CREATE TABLE "user" (id bigint PRIMARY KEY, name text, nickname text, age int);
        INSERT INTO "user" VALUES (1, 'ada', NULL, 36), (2, 'grace', 'amazing', 85);
        CREATE TABLE audit (id bigint PRIMARY KEY, note text);
        """);
    try (Connection c = connections.open("setup")) {
      dev.lockstep.coordinator.store.LockstepSchema.ensure(c);
    }
    db.execute("INSERT INTO lockstep.fence (service, epoch) VALUES ('preflight', 0)");
    migrations.migrate(migrations.folderSet(), "1", 0);
  }

  @AfterEach
  void dropDatabase() {
    db.close();
  }

  private void write(String name, String sql) throws IOException {
    Files.writeString(folder.resolve(name), sql);
  }

  private PreflightReport run(ReleaseOptions options) throws Exception {
    try (Connection c = connections.open("preflight-test")) {
      return preflight.run(c, migrations.folderSet(), migrations.plan(migrations.folderSet(), null), options);
    }
  }

  @Test
  void additionsRunOnline() throws Exception {
    write("V2__add.sql", """
        CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint REFERENCES "user" (id));
        ALTER TABLE "user" ADD COLUMN email text;
        ALTER TABLE "user" ADD COLUMN active boolean NOT NULL DEFAULT true;
        CREATE INDEX user_email ON "user" (email);
        """);
    PreflightReport report = run(AUTO);
    assertThat(report.blocked()).as(report.blockingReason()).isFalse();
    assertThat(report.mode().mode()).isEqualTo(Mode.ONLINE);
    assertThat(report.rehearsed()).isTrue();
  }

  @Test
  void whatALaterMigrationDoesToATableThisReleaseCreatedBreaksNoOldCode() throws Exception {
    // Seen in the cost bench: V3's foreign key on a table V2 created sent the release to maintenance for nothing.
    write("V2__items.sql", "CREATE TABLE items (id bigserial PRIMARY KEY, owner bigint);");
    write("V3__items_owner.sql", """
        ALTER TABLE items ADD CONSTRAINT items_owner FOREIGN KEY (owner) REFERENCES "user" (id);
        ALTER TABLE items ADD COLUMN sku text NOT NULL;
        """);
    PreflightReport report = run(AUTO);
    assertThat(report.blocked()).as(report.blockingReason()).isFalse();
    assertThat(report.mode().mode()).as(report.mode().reason()).isEqualTo(Mode.ONLINE);

    // The same on a table old code uses is still what it was.
    write("V4__user_owner.sql", "ALTER TABLE \"user\" ADD CONSTRAINT user_age CHECK (age >= 0);");
    PreflightReport old = run(AUTO);
    assertThat(old.mode().mode()).isEqualTo(Mode.MAINTENANCE);
    assertThat(old.mode().reason()).contains("user_age").doesNotContain("items");
  }

  @Test
  void whatOldCodeCannotReadNeedsMaintenanceAndEachReasonIsNamed() throws Exception {
    write("V2__rename.sql", "ALTER TABLE \"user\" RENAME COLUMN name TO full_name;");
    write("V3__retype.sql", "ALTER TABLE \"user\" ALTER COLUMN age TYPE bigint;");
    write("V4__not_null.sql", "UPDATE \"user\" SET nickname = 'x' WHERE nickname IS NULL; ALTER TABLE \"user\" ALTER COLUMN nickname SET NOT NULL;");
    write("V5__required.sql", "ALTER TABLE audit ADD COLUMN actor text NOT NULL;");
    write("V6__check.sql", "ALTER TABLE \"user\" ADD CONSTRAINT adult CHECK (age >= 18);");
    write("V7__rename_table.sql", "ALTER TABLE audit RENAME TO audit_log;");
    PreflightReport report = run(AUTO);
    assertThat(report.blocked()).as(report.blockingReason()).isFalse();
    assertThat(report.mode().mode()).isEqualTo(Mode.MAINTENANCE);
    assertThat(report.mode().reason())
        .contains("V2 (rename) renames column public.user.name to full_name")
        .contains("V3 (retype) changes the type of public.user.age from integer to bigint")
        .contains("V4 (not null) adds NOT NULL to public.user.nickname")
        .contains("V5 (required) adds column public.audit.actor NOT NULL without a default")
        .contains("V6 (check) adds check constraint adult on public.user")
        .contains("V7 (rename table) renames table public.audit to public.audit_log");
  }

  /** The rules get the release's own files in memory: Flyway's checksums of the text, BOM and CRLF as in the file. */
  @Test
  void flywaysHistoryIsComparedWithTheReleasesOwnFiles() throws Exception {
    String v1 = Files.readString(folder.resolve("V1__base.sql"));
    Files.writeString(folder.resolve("V1__base.sql"), "\uFEFF" + v1.replace("\n", "\r\n")); // same checksum to Flyway
    write("V2__add.sql", "ALTER TABLE audit ADD COLUMN actor text;");
    PreflightReport same = run(AUTO);
    assertThat(same.blocked()).as(same.blockingReason()).isFalse();
    assertThat(same.findings()).noneMatch(f -> f.rule().equals("failed-migration"));

    String edited = v1.replace("nickname text", "nickname varchar(40)");
    write("V1__base.sql", edited);
    PreflightReport changed = run(AUTO);
    assertThat(changed.blocked()).isTrue();
    assertThat(changed.findings()).filteredOn(f -> f.rule().equals("failed-migration")).singleElement().satisfies(f -> {
      assertThat(f.object()).isEqualTo("V1");
      assertThat(f.message()).startsWith("migration V1 (base) was applied with checksum " + FlywayChecksum.of(v1)
          + ", but V1__base.sql now has checksum " + FlywayChecksum.of(edited) + " (the file was edited after it ran)");
    });

    Files.delete(folder.resolve("V1__base.sql"));
    PreflightReport missing = run(AUTO);
    assertThat(missing.findings()).filteredOn(f -> f.rule().equals("failed-migration")).singleElement()
        .satisfies(f -> assertThat(f.message()).as("named by the set's origin, not a temporary folder")
            .startsWith("migration V1 (base) was applied (installed rank 1), but the migrations folder " + folder
                + " has no file for it, though it has newer ones"));
  }

  @Test
  void droppingDataBlocksWithCountsUnlessAllowed() throws Exception {
    write("V2__drop.sql", "ALTER TABLE \"user\" DROP COLUMN nickname; ALTER TABLE \"user\" DROP COLUMN age; DROP TABLE audit;");
    PreflightReport blocked = run(AUTO);
    assertThat(blocked.blocked()).isTrue();
    assertThat(blocked.findings()).filteredOn(f -> f.rule().equals("data-loss")).extracting(Finding::message)
        .containsExactlyInAnyOrder(
            "the release would drop column public.user.nickname, which holds 1 non-NULL value(s); pass --allow-data-loss if that is intended",
            "the release would drop column public.user.age, which holds 2 non-NULL value(s); pass --allow-data-loss if that is intended");
    assertThat(blocked.mode().mode()).isEqualTo(Mode.MAINTENANCE);
    assertThat(blocked.mode().reason()).contains("drops table public.audit").as("an empty table loses nothing");

    PreflightReport allowed = run(new ReleaseOptions(Mode.AUTO, false, false, true));
    assertThat(allowed.blocked()).isFalse();
    assertThat(allowed.findings()).filteredOn(f -> f.rule().equals("data-loss")).allMatch(f -> f.severity() == Severity.WARN);
  }

  @Test
  void forcingOnlineOverADestructiveChangeNeedsAllowDestructive() throws Exception {
    write("V2__rename.sql", "ALTER TABLE \"user\" RENAME COLUMN name TO full_name;");
    PreflightReport refused = run(new ReleaseOptions(Mode.ONLINE, false, false, false));
    assertThat(refused.blocked()).isTrue();
    assertThat(refused.blockingReason()).contains("mode online was requested").contains("--allow-destructive");
    PreflightReport forced = run(new ReleaseOptions(Mode.ONLINE, false, true, false));
    assertThat(forced.blocked()).isFalse();
    assertThat(forced.mode().mode()).isEqualTo(Mode.ONLINE);
    assertThat(forced.mode().reason()).contains("requested by the operator, although");
  }

  @Test
  void aMigrationThatWouldFailBlocksAndNamesIt() throws Exception {
    write("V2__ok.sql", "CREATE TABLE products (id bigint PRIMARY KEY);");
    write("V3__broken.sql", "CREATE INDEX products_sku ON products (sku);");
    PreflightReport report = run(AUTO);
    assertThat(report.blocked()).isTrue();
    assertThat(report.blockingReason()).contains("migration V3 (broken) would fail").contains("column \"sku\" does not exist");
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'products'")).isZero();
  }

  @Test
  void repairsAreRehearsedFirstSoTheMigrationTheyEnableSucceeds() throws Exception {
    db.execute("ALTER TABLE \"user\" DROP CONSTRAINT user_pkey");
    write("V2__orders.sql", "CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint REFERENCES \"user\" (id));");
    PreflightReport report = run(AUTO);
    assertThat(report.blocked()).as(report.blockingReason()).isFalse();
    assertThat(report.repairs()).containsExactly("ALTER TABLE \"public\".\"user\" ADD PRIMARY KEY (\"id\")");
    assertThat(db.queryLong("SELECT count(*) FROM pg_constraint WHERE conrelid = '\"user\"'::regclass AND contype = 'p'"))
        .as("the rehearsal's repair was rolled back").isZero();
  }

  @Test
  void nonTransactionalMigrationsAreNotRehearsedAndMakeTheReleaseConservative() throws Exception {
    write("V2__concurrent.sql", "CREATE INDEX CONCURRENTLY user_name ON \"user\" (name);");
    write("V3__add.sql", "ALTER TABLE \"user\" ADD COLUMN email text;");
    PreflightReport report = run(AUTO);
    assertThat(report.blocked()).isFalse();
    assertThat(report.findings()).anySatisfy(f -> {
      assertThat(f.rule()).isEqualTo("non-transactional");
      assertThat(f.severity()).isEqualTo(Severity.WARN);
      assertThat(f.message()).contains("V2 (concurrent)").contains("not atomic");
    });
    assertThat(report.mode().mode()).isEqualTo(Mode.MAINTENANCE);
    assertThat(report.mode().reason()).isEqualTo("V2 (concurrent) cannot run in a transaction and was not rehearsed; "
        + "V3 (add) follows a non-transactional migration and was not rehearsed");
    assertThat(migrations.plan(migrations.folderSet(), null).steps()).extracting(s -> s.transactional()).containsExactly(false, true);
  }

  @Test
  void sessionsHoldingTablesTheReleaseLocksAreNamedWithTheirQueries() throws Exception {
    write("V2__add.sql", "ALTER TABLE audit ADD COLUMN actor text;");
    try (Connection reader = db.connect(); var s = reader.createStatement()) {
      reader.setAutoCommit(false);
      s.execute("SELECT count(*) FROM \"user\""); // not touched by the release: not reported
      s.execute("SELECT * FROM audit /* nightly report */");
      // The rehearsal itself waits for this reader's lock, gives up at lock_timeout and says so.
      PreflightReport blocked = run(AUTO);
      assertThat(blocked.blockingReason()).contains("V2 (add) could not get its lock within lock_timeout")
          .contains("end or wait out the sessions");
      assertThat(blocked.findings()).filteredOn(f -> f.rule().equals("blocking-sessions")).singleElement().satisfies(f -> {
        assertThat(f.severity()).isEqualTo(Severity.WARN);
        assertThat(f.object()).isEqualTo("public.audit");
        assertThat(f.message()).contains("nightly report");
      });
      reader.rollback();
    }
    PreflightReport clear = run(AUTO);
    assertThat(clear.blocked()).isFalse();
    assertThat(clear.findings()).noneMatch(f -> f.rule().equals("blocking-sessions"));
  }

  @Test
  void preflightLeavesTheDatabaseExactlyAsItWas() throws Exception {
    db.execute("ALTER TABLE \"user\" DROP CONSTRAINT user_pkey");
    write("V2__everything.sql", """
        CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint REFERENCES "user" (id));
        INSERT INTO orders (user_id) VALUES (1);
        ALTER TABLE "user" DROP COLUMN nickname;
        UPDATE "user" SET name = upper(name);
        """);
    String before = fingerprint();
    PreflightReport report = run(new ReleaseOptions(Mode.AUTO, false, false, true));
    assertThat(report.rehearsed()).isTrue();
    assertThat(fingerprint()).isEqualTo(before);
  }

  /** Issue 6, breakage 1: a file's own COMMIT used to commit the rehearsal — and everything rehearsed before it. */
  @Test
  void aWrappedMigrationRunsInsideTheReleaseTransactionAndCheckChangesNothing() throws Exception {
    String wrapped = "BEGIN;\nCREATE TABLE wrapped (id bigint PRIMARY KEY);\nCOMMIT;\n";
    write("V2__wrapped.sql", wrapped);
    write("V3__broken.sql", "CREATE INDEX wrapped_sku ON wrapped (sku);");
    String before = fingerprint();
    PreflightReport report = run(AUTO);
    assertThat(report.blockingReason()).contains("migration V3 (broken) would fail").contains("\"sku\" does not exist");
    assertThat(report.findings()).filteredOn(f -> f.rule().equals("transaction-wrapper")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Severity.INFO);
      assertThat(f.object()).isEqualTo("V2");
      assertThat(f.message()).contains("runs without it, inside the release's transaction");
    });
    assertThat(fingerprint()).as("check and the rehearsal change nothing").isEqualTo(before);
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'wrapped'")).isZero();

    // Past the rehearsal too: V3 failing in MIGRATING takes V2 with it, wrapper or not.
    assertThat(migrations.plan(migrations.folderSet(), null).steps()).hasSize(1);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> migrations.migrate(migrations.folderSet(), "3", 0))
        .hasMessageContaining("V3 (broken) failed");
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'wrapped'")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version IN ('2', '3')")).isZero();

    Files.delete(folder.resolve("V3__broken.sql"));
    migrations.migrate(migrations.folderSet(), "2", 0);
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'wrapped'")).isOne();
    assertThat(db.queryLong("SELECT checksum FROM flyway_schema_history WHERE version = '2'"))
        .as("the history keeps Flyway's checksum of the file as written").isEqualTo(dev.lockstep.rules.FlywayChecksum.of(wrapped));
  }

  @Test
  void transactionControlInsideAMigrationIsRefusedNamingFileLineAndHowToMarkIt() throws Exception {
    write("V2__split.sql", "CREATE TABLE first_half (x int);\nCOMMIT;\nCREATE TABLE second_half (x int);\n");
    String before = fingerprint();
    PreflightReport report = run(AUTO);
    assertThat(report.blocked()).isTrue();
    assertThat(report.findings()).filteredOn(f -> f.rule().equals("transaction-control")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Severity.BLOCK);
      assertThat(f.object()).isEqualTo("V2");
      assertThat(f.message()).contains("V2__split.sql").contains("COMMIT on line 2")
          .contains("V2__split.sql.conf").contains("executeInTransaction=false");
    });
    assertThat(report.rehearsed()).isFalse();
    assertThat(fingerprint()).isEqualTo(before);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> migrations.migrate(migrations.folderSet(), "2", 0))
        .hasMessageContaining("COMMIT on line 2");
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'first_half'")).isZero();

    // Marked non-transactional, it runs as written in a step of its own.
    write("V2__split.sql.conf", "executeInTransaction=false\n");
    PreflightReport marked = run(AUTO);
    assertThat(marked.blocked()).as(marked.blockingReason()).isFalse();
    assertThat(marked.findings()).filteredOn(f -> f.rule().equals("non-transactional")).singleElement()
        .satisfies(f -> assertThat(f.message()).contains("marked non-transactional by V2__split.sql.conf"));
    List<dev.lockstep.coordinator.migration.MigrationPlan.Step> steps = migrations.plan(migrations.folderSet(), null).steps();
    assertThat(steps).extracting(step -> step.transactional()).containsExactly(false);
    migrations.migrate(migrations.folderSet(), steps.get(0), 0);
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename IN ('first_half', 'second_half')")).isEqualTo(2);
  }

  /** ReportPortal's V40 shape: CALL of a procedure that COMMITs, which PostgreSQL refuses in a transaction (2D000). */
  @Test
  void aCallOfACommittingProcedureBecomesAFindingThatSaysToMarkIt() throws Exception {
    write("V2__procedure.sql", """
        ALTER TABLE audit ADD COLUMN filled boolean;
        CREATE PROCEDURE fill_audit() LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE audit SET filled = true;
          COMMIT;
        END;
        $$;
        """);
    write("V3__fill.sql", "CALL fill_audit();");
    db.execute("INSERT INTO audit VALUES (1, 'x')");
    String before = fingerprint();
    PreflightReport report = run(AUTO);
    assertThat(report.blocked()).isTrue();
    assertThat(report.findings()).filteredOn(f -> f.rule().equals("transaction-control")).singleElement().satisfies(f -> {
      assertThat(f.object()).isEqualTo("V3");
      assertThat(f.message()).contains("V3 (fill) tried to end the release's transaction")
          .contains("V3__fill.sql.conf").contains("executeInTransaction=false").contains("nothing was changed");
    });
    assertThat(fingerprint()).isEqualTo(before);

    write("V3__fill.sql.conf", "executeInTransaction=false");
    assertThat(run(AUTO).blocked()).isFalse();
    List<dev.lockstep.coordinator.migration.MigrationPlan.Step> steps = migrations.plan(migrations.folderSet(), null).steps();
    assertThat(steps).extracting(step -> step.transactional()).containsExactly(true, false);
    steps.forEach(step -> migrations.migrate(migrations.folderSet(), step, 0));
    assertThat(db.queryLong("SELECT count(*) FROM audit WHERE filled")).isOne();
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version IN ('2', '3') AND success")).isEqualTo(2);
  }

  /** The regex detector took the word in the comment's text for a statement and split the release. */
  @Test
  void keywordsInLiteralsAndCommentsKeepTheReleaseAtomicAndOnline() throws Exception {
    write("V2__comment.sql", """
        -- Later: VACUUM; and CREATE INDEX CONCURRENTLY
        ALTER TABLE audit ADD COLUMN note2 text;
        COMMENT ON TABLE audit IS 'rebuilt concurrently at night; then COMMIT';
        COMMENT ON COLUMN audit.note2 IS E'it\\'s ROLLBACK-safe';
        """);
    PreflightReport report = run(AUTO);
    assertThat(report.blocked()).as(report.blockingReason()).isFalse();
    assertThat(report.findings()).noneMatch(f -> f.rule().startsWith("transaction") || f.rule().equals("non-transactional"));
    assertThat(report.mode().mode()).isEqualTo(Mode.ONLINE);
    assertThat(migrations.plan(migrations.folderSet(), null).steps()).singleElement().satisfies(step -> assertThat(step.transactional()).isTrue());
  }

  /** Flyway would replace {@code ${…}} even inside a literal; Lockstep does not, so it refuses the script up front. */
  @Test
  void aFlywayPlaceholderIsRefusedEvenInsideALiteral() throws Exception {
    write("V2__placeholder.sql", "CREATE TABLE settings (k text, v text);\nINSERT INTO settings VALUES ('owner', '${owner}');\n");
    String before = fingerprint();
    PreflightReport report = run(AUTO);
    assertThat(report.blocked()).isTrue();
    assertThat(report.findings()).filteredOn(f -> f.rule().equals("placeholder")).singleElement()
        .satisfies(f -> assertThat(f.message()).contains("V2__placeholder.sql").contains("${owner} on line 2"));
    assertThat(report.rehearsed()).isFalse();
    assertThat(fingerprint()).isEqualTo(before);
  }

  /** Issue 6, breakage 4: {@code --schema 1_1} is Flyway's version 1.1, and 1.10 comes after 1.9. */
  @Test
  void schemaVersionsAreFlywayVersions() throws Exception {
    write("V1_1__one_one.sql", "CREATE TABLE one_one (x int);");
    write("V1_9__one_nine.sql", "CREATE TABLE one_nine (x int);");
    write("V1_10__one_ten.sql", "CREATE TABLE one_ten (x int);");
    assertThat(migrations.plan(migrations.folderSet(), "1_1").target()).isEqualTo("1.1");
    assertThat(migrations.plan(migrations.folderSet(), "1.1").pendingLabels()).containsExactly("V1.1 (one one)");
    assertThat(migrations.plan(migrations.folderSet(), null).target()).isEqualTo("1.10");
    assertThat(migrations.plan(migrations.folderSet(), null).pendingLabels()).containsExactly("V1.1 (one one)", "V1.9 (one nine)", "V1.10 (one ten)");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> migrations.plan(migrations.folderSet(), "1.2"))
        .hasMessageContaining("schema version 1.2 is not in the migrations folder");
  }

  private String fingerprint() {
    return db.fingerprint();
  }
}
