package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The backup step (DESIGN.md, {@code --backup-command}): under the lock, after the fleet prepared and
 * before MIGRATING. A real {@code pg_dump} of the database as it was; a failing or timed-out backup
 * aborts the release with nothing in the schema changed, and the agents are told to abort.
 */
class BackupIT {
  private static TestDatabase db;
  private static Fleet fleet;
  private static Path migrations;
  private static Path mode;

  @BeforeAll
  static void start() throws Exception {
    db = TestPostgres.instance().createDatabase("BackupIT");
    fleet = new Fleet("BackupIT", db);
    migrations = fleet.folder("migrations", Map.of("V1__accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY);"));
    mode = fleet.dir.resolve("backup-mode");
    Files.writeString(mode, "dump");
    // One command that does what the test asks of it: a real dump, a failure, or a hang past the timeout.
    String command = "case $(cat " + mode + ") in"
        + " dump) pg_dump --schema-only \"$DATABASE_URL\" > " + fleet.dir + "/backup-$LOCKSTEP_SERVICE-$LOCKSTEP_RELEASE_ID.sql"
        + " && echo dumped >&2 ;;"
        + " fail) echo 'pg_dump: error: disk full' >&2; exit 3 ;;"
        + " hang) sleep 60 ;; esac";
    fleet.startCoordinator(migrations, "--backup-command", command, "--backup-timeout", "3s");
    fleet.startAgent("b-1", "v0", migrations);
    fleet.startAgent("b-2", "v0", migrations);
    fleet.awaitAgents("b-1", "b-2");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    db.close();
  }

  @Test
  void aBackupRunsBeforeMigratingAndAFailedOrHungOneAbortsWithNothingChanged() throws Exception {
    // 1. A real dump, taken before the migration: it has no trace of the table the release creates.
    ReleaseDocument first = release("v1");
    assertThat(first.phase()).as(first.reason()).isEqualTo(Phase.COMPLETED);
    assertThat(first.backup()).isNotNull();
    assertThat(first.backup().exitCode()).isZero();
    assertThat(first.backup().stderrTail()).isEqualTo("dumped");
    Path dump = fleet.dir.resolve("backup-" + fleet.service + "-" + first.id() + ".sql");
    assertThat(Files.readString(dump)).contains("CREATE TABLE lockstep.releases").doesNotContain("accounts");
    assertThat(firstOf(events(first.id()), "PREPARING: every agent prepared; running the backup command",
        "PREPARING: backup done in", "MIGRATING:")).as("backup, then MIGRATING").isSorted().doesNotContain(-1);

    // 2. A failing backup: ABORTED before any schema change, the agents told to abort.
    Files.writeString(migrations.resolve("V2__audits.sql"), "CREATE TABLE audits (id bigint PRIMARY KEY);");
    Files.writeString(mode, "fail");
    ReleaseDocument failed = release("v2");
    assertThat(failed.phase()).isEqualTo(Phase.ABORTED);
    assertThat(failed.reason()).contains("backup command exited 3").contains("disk full").contains("nothing in the schema changed");
    assertThat(failed.backup().exitCode()).isEqualTo(3);
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '2'")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'audits'")).isZero();
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(fleet.hookLines())
        .anyMatch(l -> l.contains("b-1 abort " + failed.id())).anyMatch(l -> l.contains("b-2 abort " + failed.id())));

    // 3. A backup that hangs is stopped at --backup-timeout: ABORTED as well.
    Files.writeString(mode, "hang");
    long began = System.nanoTime();
    ReleaseDocument hung = release("v2");
    assertThat(hung.phase()).isEqualTo(Phase.ABORTED);
    assertThat(hung.backup().timedOut()).isTrue();
    assertThat(hung.reason()).contains("ran past its timeout");
    assertThat((System.nanoTime() - began) / 1e9).as("stopped at the 3 s timeout, not after the 60 s sleep").isLessThan(30);
    assertThat(db.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'audits'")).isZero();
  }

  private static ReleaseDocument release(String revision) {
    ReleaseDocument started = fleet.api().post("/v1/releases", ReleaseRequest.of(revision, null), ReleaseDocument.class);
    return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> fleet.api().get("/v1/releases/" + started.id(), ReleaseDocument.class), d -> d.phase().isTerminal());
  }

  private static java.util.List<String> events(String id) throws Exception {
    java.util.List<String> messages = new java.util.ArrayList<>();
    try (var c = db.connect(); var s = c.prepareStatement(
        "SELECT message FROM lockstep.release_events WHERE release_id = ? ORDER BY seq")) {
      s.setString(1, id);
      try (var r = s.executeQuery()) {
        while (r.next()) {
          messages.add(r.getString(1));
        }
      }
    }
    return messages;
  }

  /** The index of the first event starting with each prefix (-1 if none). */
  private static java.util.List<Integer> firstOf(java.util.List<String> events, String... prefixes) {
    java.util.List<Integer> at = new java.util.ArrayList<>();
    for (String prefix : prefixes) {
      int found = -1;
      for (int i = 0; i < events.size() && found < 0; i++) {
        if (events.get(i).startsWith(prefix)) {
          found = i;
        }
      }
      at.add(found);
    }
    return at;
  }
}
