package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestCorpus;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real project's chain, as real users write it: ReportPortal's 132 up/down pairs (Apache-2.0, see
 * {@code testkit/src/main/resources/corpora/reportportal/SOURCE.md}). V1 and V2 end with a bare
 * {@code COMMIT;}; V40 is {@code CALL} of a procedure that commits; U202 cannot undo V202 once the
 * project table has rows. Released through real coordinator and agent processes, and compared with the
 * same chain applied by plain {@code psql}.
 */
class ReportPortalCorpusIT {
  private static final String V40_CONF = "V40__attachment_creation_date_fill.sql.conf";

  private static TestDatabase db;
  private static TestDatabase plain;
  private static Fleet fleet;
  private static Path migrations;

  @BeforeAll
  static void start() throws Exception {
    db = TestPostgres.instance().createDatabase("ReportPortalCorpusIT");
    plain = TestPostgres.instance().createDatabase("ReportPortalPlainPsql");
    fleet = new Fleet("ReportPortalCorpusIT", db);
    migrations = fleet.dir.resolve("migrations-reportportal");
    if (Files.exists(migrations)) {
      try (var old = Files.list(migrations)) {
        for (Path p : old.toList()) {
          Files.delete(p);
        }
      }
    }
    TestCorpus.copy("reportportal", migrations);
    fleet.startCoordinator(migrations);
    fleet.startAgent("rp-1", "v0", migrations);
    fleet.startAgent("rp-2", "v0", migrations);
    fleet.awaitAgents("rp-1", "rp-2");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
    plain.close();
  }

  @Test
  void theWholeChainReleasesAndDowngradesAsFarAsItsUndoScriptsAllow() throws Exception {
    // Unmarked, V40's procedure COMMITs inside the release's transaction: refused in PREFLIGHT, nothing changed.
    String empty = db.fingerprint();
    Fleet.CliRun refused = fleet.cli("release", "--revision", "v1", "--json");
    assertThat(refused.exit()).as(refused.err()).isEqualTo(1);
    ReleaseDocument aborted = Json.read(refused.out(), ReleaseDocument.class);
    assertThat(aborted.phase()).isEqualTo(Phase.ABORTED);
    assertThat(aborted.findings()).anySatisfy(f -> {
      assertThat(f.rule()).isEqualTo("transaction-control");
      assertThat(f.object()).isEqualTo("V40");
      assertThat(f.message()).contains(V40_CONF).contains("executeInTransaction=false");
    });
    assertThat(db.fingerprint()).isEqualTo(empty);
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).isZero();

    // Marked as Flyway marks it, the chain releases to head: V0–V39 in one transaction, V40 alone, the rest in one.
    Files.writeString(migrations.resolve(V40_CONF), "executeInTransaction=false\n");
    long started = System.nanoTime();
    Fleet.CliRun released = fleet.cli("release", "--revision", "v1", "--allow-data-loss", "--json");
    long releaseMs = (System.nanoTime() - started) / 1_000_000;
    assertThat(released.exit()).as(released.out() + released.err()).isZero();
    ReleaseDocument head = Json.read(released.out(), ReleaseDocument.class);
    assertThat(head.phase()).isEqualTo(Phase.COMPLETED);
    assertThat(head.schema()).isEqualTo("1002");
    assertThat(head.applied()).hasSize(132);
    assertThat(head.findings()).anySatisfy(f -> assertThat(f.rule() + " " + f.object()).isEqualTo("non-transactional V40"));
    assertThat(head.findings()).filteredOn(f -> f.rule().equals("transaction-wrapper")).extracting(f -> f.object())
        .containsExactlyInAnyOrder("V1", "V2");
    System.out.printf("reportportal: 132 migrations released to 1002 in %d ms (CLI request to COMPLETED)%n", releaseMs);

    // The same schema as plain psql builds from the same files.
    long psqlStarted = System.nanoTime();
    applyWithPsql(plain);
    System.out.printf("reportportal: the same chain with psql, file by file: %d ms%n", (System.nanoTime() - psqlStarted) / 1_000_000);
    assertThat(schemaDump(db)).isEqualTo(schemaDump(plain));

    // Down as far as the undo scripts allow: U202 cannot restore a NOT NULL column on a table with rows.
    // The undo scripts insert rows: the rolled-back rehearsal leaves gaps in sequences, as any rolled-back
    // transaction does in PostgreSQL, and changes nothing else.
    String atHead = db.fingerprint(false);
    Fleet.CliRun tooFar = fleet.cli("release", "--revision", "v0", "--schema", "0", "--allow-data-loss", "--json");
    assertThat(tooFar.exit()).as(tooFar.err()).isEqualTo(1);
    ReleaseDocument stopped = Json.read(tooFar.out(), ReleaseDocument.class);
    assertThat(stopped.phase()).isEqualTo(Phase.ABORTED);
    assertThat(stopped.reason()).contains("U202 (update project table) would fail").contains("project_type");
    assertThat(db.fingerprint(false)).as("the rehearsal caught U202 before any undo ran").isEqualTo(atHead);

    // Live traffic can still trip it after the rehearsal: with no project rows U202 rehearses fine (the chain
    // then stops at U32, so this goes down to 100), and a project created while the fleet prepares makes it
    // fail for real after U1002 … U203 committed. The release must name U202 and version 202 (where U203 left
    // the schema), and the agents hold: back on revision v1 they could not read it.
    db.execute("CREATE SCHEMA keep; CREATE TABLE keep.project AS SELECT * FROM project; DELETE FROM project");
    fleet.startSlowAgent("rp-3", "v1", migrations, "sleep 6 && ");
    fleet.awaitAgents("rp-1", "rp-2", "rp-3");
    int hooksBefore = fleet.hookLines().size();
    started = System.nanoTime();
    java.util.concurrent.CompletableFuture<Fleet.CliRun> down = java.util.concurrent.CompletableFuture.supplyAsync(() ->
        fleet.cli("release", "--revision", "v100", "--schema", "100", "--allow-data-loss", "--json"));
    await().atMost(Duration.ofSeconds(60)).until(() -> fleet.hookLines().subList(hooksBefore, fleet.hookLines().size())
        .stream().anyMatch(l -> l.contains(" prepare ")));
    db.execute("INSERT INTO project SELECT * FROM keep.project");
    Fleet.CliRun failed = down.get(180, TimeUnit.SECONDS);
    long downMs = (System.nanoTime() - started) / 1_000_000;
    assertThat(failed.exit()).as(failed.err()).isEqualTo(1);
    ReleaseDocument partWay = Json.read(failed.out(), ReleaseDocument.class);
    assertThat(partWay.phase()).isEqualTo(Phase.FAILED);
    assertThat(partWay.reason()).contains("U202 (update project table) failed").contains("project_type")
        .contains("database is now at version 202").contains("Agents hold");
    assertThat(partWay.applied()).extracting(a -> a.version()).startsWith("1002", "1001", "1000", "215").endsWith("203");
    assertThat(db.queryLong("SELECT max(version::int) FROM flyway_schema_history")).isEqualTo(202);
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(fleet.agentList())
        .extracting(AgentStatus::state).containsOnly(dev.lockstep.protocol.AgentState.HOLDING));
    assertThat(fleet.hookLines().subList(hooksBefore, fleet.hookLines().size()))
        .noneMatch(l -> l.contains(" abort ")).noneMatch(l -> l.contains(" switch "));
    System.out.printf("reportportal: downgrade 1002 -> 100 failed at U202 after %d undo scripts, in %d ms%n",
        partWay.applied().size(), downMs);
  }

  /** Every V file in version order, each with {@code psql -v ON_ERROR_STOP=1}, as the project's own docs do. */
  private static void applyWithPsql(TestDatabase target) throws IOException, InterruptedException {
    List<Path> files;
    try (var all = Files.list(migrations)) {
      files = all.filter(p -> p.getFileName().toString().matches("V[0-9]+__.*\\.sql"))
          .sorted(Comparator.comparing(p -> MigrationVersion.fromVersion(p.getFileName().toString().replaceAll("^V([0-9]+)__.*", "$1"))))
          .toList();
    }
    assertThat(files).hasSize(132);
    for (Path file : files) {
      run(List.of("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target.postgresUrl(), "-f", file.toString()));
    }
  }

  /** {@code pg_dump --schema-only} of {@code public}, without Flyway's history table and the lines that name the database. */
  private static String schemaDump(TestDatabase source) throws IOException, InterruptedException {
    String dump = run(List.of("pg_dump", "--schema-only", "--no-owner", "--no-privileges", "--exclude-schema=lockstep",
        "--exclude-table=public.flyway_schema_history", "-d", source.postgresUrl()));
    return dump.lines().filter(l -> !l.startsWith("--") && !l.isBlank() && !l.startsWith("\\restrict") && !l.startsWith("\\unrestrict"))
        .collect(Collectors.joining("\n"));
  }

  private static String run(List<String> command) throws IOException, InterruptedException {
    Path out = Files.createTempFile("rp-", ".out");
    Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(command + " did not finish in 120 s");
    }
    String output = Files.readString(out);
    Files.delete(out);
    if (p.exitValue() != 0) {
      throw new IllegalStateException(command + " exited " + p.exitValue() + ": " + output);
    }
    return output;
  }
}
