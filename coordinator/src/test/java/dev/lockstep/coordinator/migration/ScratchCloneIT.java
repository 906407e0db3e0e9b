package dev.lockstep.coordinator.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.testkit.SchemaDump;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rehearsal's scratch copy against a real PostgreSQL: the same schema (tables, sequences, an enum, a trigger
 * function and its trigger) without the rows, gone after close; pg_dump and psql failures named with their exit
 * code and error output, the half-made copy dropped; a missing pg_dump says what to install; the sweep drops only
 * copies left behind.
 */
class ScratchCloneIT {
  private static final String SCHEMA = """
      CREATE TYPE order_state AS ENUM ('open', 'paid', 'shipped');
      CREATE SEQUENCE invoice_number START 1000;
      CREATE TABLE customer (id serial PRIMARY KEY, email text NOT NULL UNIQUE, updated_at timestamptz);
      CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customer(id),
        state order_state NOT NULL DEFAULT 'open', invoice int DEFAULT nextval('invoice_number'));
      CREATE INDEX orders_state ON orders (state);
      CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
      CREATE TRIGGER customer_touch BEFORE UPDATE ON customer FOR EACH ROW EXECUTE FUNCTION touch();
      CREATE VIEW open_orders AS SELECT * FROM orders WHERE state = 'open';
      INSERT INTO customer (email) VALUES ('ada@example.com'), ('bob@example.com');
      INSERT INTO orders (customer_id) VALUES (1), (1), (2);
      """;

  private static TestDatabase live;
  private static DatabaseUrl liveUrl;

  @BeforeAll
  static void createLiveDatabase() {
    live = TestPostgres.instance().createDatabase("ScratchCloneIT");
    live.execute(SCHEMA);
    liveUrl = DatabaseUrl.parse(live.postgresUrl());
  }

  @AfterAll
  static void dropLiveDatabase() {
    live.close();
  }

  @Test
  void copiesTheSchemaWithoutTheRowsAndDropsTheCopyOnClose() {
    String name;
    try (ScratchClone clone = ScratchClone.create(liveUrl, "release r-12's rehearsal")) {
      name = clone.name();
      assertThat(name).matches("lockstep_rehearsal_[0-9a-f]{8}");
      assertThat(clone.url().database()).isEqualTo(name);
      assertThat(clone.url().host()).isEqualTo(liveUrl.host());
      assertThat(clone.url().port()).isEqualTo(liveUrl.port());

      String liveSchema = SchemaDump.of(live);
      assertThat(liveSchema).contains("CREATE TYPE public.order_state AS ENUM", "CREATE SEQUENCE public.invoice_number",
          "CREATE FUNCTION public.touch()", "CREATE TRIGGER customer_touch", "CREATE VIEW public.open_orders");
      assertThat(SchemaDump.of(clone.url().libpqUrl())).isEqualTo(liveSchema);

      assertThat(countOn(clone, "SELECT count(*) FROM customer")).isZero();
      assertThat(countOn(clone, "SELECT count(*) FROM orders")).isZero();
      assertThat(live.queryLong("SELECT count(*) FROM orders")).as("the live rows stay").isEqualTo(3);
      assertThat(live.queryText("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '" + name + "'"))
          .startsWith("Lockstep scratch copy of the schema of " + live.name() + ": release r-12's rehearsal (created ");
    }
    assertThat(databases(name)).as("dropped on close").isZero();
  }

  /**
   * The use the copy exists for, with the real {@code alembic} and the shop project. The copy has no rows, so
   * not {@code alembic_version}'s either: the rehearsal stamps the live revision on it before upgrading.
   */
  @Test
  void anAlembicUpgradeRehearsedOnTheCopyGivesTheSchemaOfTheRealUpgrade() throws Exception {
    Path ini = Path.of(ScratchCloneIT.class.getResource("/alembic/shop/alembic.ini").toURI());
    try (TestDatabase app = TestPostgres.instance().createDatabase("ScratchCloneAlembic")) {
      alembic(ini, app.postgresUrl(), "upgrade", "b2c3d4e5f6a7");
      try (ScratchClone clone = ScratchClone.create(DatabaseUrl.parse(app.postgresUrl()), "alembic rehearsal")) {
        assertThat(countOn(clone, "SELECT count(*) FROM alembic_version")).isZero();
        alembic(ini, clone.url().libpqUrl(), "stamp", "b2c3d4e5f6a7");
        alembic(ini, clone.url().libpqUrl(), "upgrade", "head");
        alembic(ini, app.postgresUrl(), "upgrade", "head");
        assertThat(SchemaDump.of(clone.url().libpqUrl())).isEqualTo(SchemaDump.of(app)).contains("CREATE TABLE public.orders");
        assertThat(app.queryText("SELECT string_agg(display_name, ',' ORDER BY id) FROM \"user\""))
            .isEqualTo("Ada,bob@example.com");
      }
    }
  }

  private static void alembic(Path ini, String databaseUrl, String... args) throws Exception {
    java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("/usr/bin/alembic", "-c", ini.toString()));
    command.addAll(java.util.List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("DATABASE_URL", databaseUrl);
    Process p = builder.start();
    String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as("%s\n%s", command, output).isZero();
  }

  @Test
  void closeDropsTheCopyEvenWithASessionOnItAndNeverThrows() throws Exception {
    ScratchClone clone = ScratchClone.create(liveUrl, "session left open");
    try (java.sql.Connection open = java.sql.DriverManager.getConnection(clone.url().jdbcUrl(), live.user(), live.password())) {
      clone.close();
      assertThat(databases(clone.name())).isZero();
      assertThat(open.isValid(2)).isFalse();
    }
    clone.close(); // a second close does nothing
  }

  @Test
  void aFailedRestoreNamesPsqlItsExitCodeAndTheErrorAndDropsTheHalfMadeCopy(@TempDir Path dir) throws Exception {
    // Writes a dump that psql cannot run, to the --file pg_dump was given.
    Path fakeDump = script(dir, "pg_dump", """
        for a; do case "$a" in --file=*) f="${a#--file=}";; esac; done
        printf 'CREATE TABLE fine (id int);\\nCREATE TABLE broken (id no_such_type);\\n' > "$f"
        """);
    ScratchClone.Tools tools = new ScratchClone.Tools(fakeDump.toString(), "psql", Duration.ofSeconds(60), Clock.systemUTC());
    String purpose = "broken restore " + System.nanoTime();
    assertThatThrownBy(() -> ScratchClone.create(liveUrl, purpose, tools))
        .isInstanceOf(LockstepException.class)
        .satisfies(e -> assertThat(((LockstepException) e).code()).isEqualTo(LockstepException.Code.UNPROCESSABLE))
        .hasMessageContaining("psql -X -q -v ON_ERROR_STOP=1")
        .hasMessageContaining("exited 3")
        .hasMessageContaining("type \"no_such_type\" does not exist");
    assertThat(copiesFor(purpose)).as("the half-made copy is dropped").isZero();
  }

  @Test
  void aFailedDumpNamesPgDumpItsExitCodeAndTheLastLinesOfItsErrors(@TempDir Path dir) throws Exception {
    Path fakeDump = script(dir, "pg_dump", """
        echo "pg_dump: error: first line" >&2
        echo "pg_dump: error: query failed: permission denied for table secrets" >&2
        exit 1
        """);
    ScratchClone.Tools tools = new ScratchClone.Tools(fakeDump.toString(), "psql", Duration.ofSeconds(60), Clock.systemUTC());
    String purpose = "broken dump " + System.nanoTime();
    assertThatThrownBy(() -> ScratchClone.create(liveUrl, purpose, tools))
        .isInstanceOf(LockstepException.class)
        .hasMessageContaining(fakeDump + " --schema-only --no-owner --no-privileges")
        .hasMessageContaining("the schema of " + liveUrl)
        .hasMessageContaining("exited 1")
        .hasMessageContaining("permission denied for table secrets");
    assertThat(copiesFor(purpose)).isZero();
  }

  @Test
  void theDumpStartsBeforeTheCopyIsCreated(@TempDir Path dir) throws Exception {
    // The real pg_dump, after writing down when it started (ns); the copy's comment says when CREATE DATABASE was done.
    Path started = dir.resolve("pg_dump.started");
    Path timedDump = script(dir, "pg_dump", "date +%s%N > " + started + "\nexec pg_dump \"$@\"\n");
    ScratchClone.Tools tools = new ScratchClone.Tools(timedDump.toString(), "psql", Duration.ofSeconds(60), Clock.systemUTC());
    try (ScratchClone clone = ScratchClone.create(liveUrl, "timed dump", tools)) {
      Instant created = ScratchClone.createdAt(live.queryText("SELECT shobj_description(oid, 'pg_database') FROM pg_database"
          + " WHERE datname = '" + clone.name() + "'"));
      long startedNanos = Long.parseLong(Files.readString(started).trim());
      Instant dumpStarted = Instant.ofEpochSecond(startedNanos / 1_000_000_000L, startedNanos % 1_000_000_000L);
      assertThat(dumpStarted).as("the dump runs while the copy is created").isBefore(created);
      assertThat(SchemaDump.of(clone.url().libpqUrl())).isEqualTo(SchemaDump.of(live));
    }
  }

  @Test
  void aDumpStartedForACopyThatCannotBeMadeIsEnded(@TempDir Path dir) throws Exception {
    // A user that may not create databases; pg_dump (fake) writes its pid, then waits long.
    String role = "scratch_nocreatedb_" + System.nanoTime();
    live.execute("CREATE ROLE " + role + " LOGIN");
    try {
      Path pid = dir.resolve("pg_dump.pid");
      Path slowDump = script(dir, "pg_dump", "echo $$ > " + pid + "\nexec sleep 60\n");
      ScratchClone.Tools tools = new ScratchClone.Tools(slowDump.toString(), "psql", Duration.ofSeconds(90), Clock.systemUTC());
      DatabaseUrl asRole = new DatabaseUrl(liveUrl.host(), liveUrl.port(), liveUrl.database(), role, null, liveUrl.params(),
          liveUrl.tls());
      long began = System.nanoTime();
      assertThatThrownBy(() -> ScratchClone.create(asRole, "no createdb", tools))
          .isInstanceOf(LockstepException.class)
          .hasMessageContaining("may not create databases");
      assertThat(Duration.ofNanos(System.nanoTime() - began)).as("not waiting for the dump").isLessThan(Duration.ofSeconds(30));
      // Killed whether or not its shell had got as far as writing its pid; one left running writes it within
      // milliseconds and stays alive, which the second this must hold for would see.
      org.awaitility.Awaitility.await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10)).until(() ->
          !Files.exists(pid) || Files.readString(pid).isBlank() // killed before, or while, it wrote its pid
              || !ProcessHandle.of(Long.parseLong(Files.readString(pid).trim())).map(ProcessHandle::isAlive).orElse(false));
    } finally {
      live.execute("DROP ROLE " + role);
    }
  }

  @Test
  void aMissingPgDumpSaysToInstallTheClientOfTheServersMajorVersion() {
    ScratchClone.Tools tools = new ScratchClone.Tools("/nonexistent/bin/pg_dump", "psql", Duration.ofSeconds(60), Clock.systemUTC());
    long major = live.queryLong("SELECT current_setting('server_version_num')::int / 10000");
    assertThatThrownBy(() -> ScratchClone.create(liveUrl, "no client", tools))
        .isInstanceOf(LockstepException.class)
        .hasMessageContaining("cannot run /nonexistent/bin/pg_dump")
        .hasMessageContaining("install postgresql-client of the database server's major version " + major + " or later");
  }

  @Test
  void theSweepDropsOnlyCopiesLeftBehindForAnHour() {
    Clock twoHoursAgo = Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC);
    ScratchClone.Tools old = new ScratchClone.Tools("pg_dump", "psql", Duration.ofSeconds(60), twoHoursAgo);
    ScratchClone leftBehind = ScratchClone.create(liveUrl, "left behind", old);
    live.execute("CREATE DATABASE lockstep_rehearsal_notours");
    try (ScratchClone fresh = ScratchClone.create(liveUrl, "in use")) {
      // Another test's rehearsal (which sweeps first) may have dropped it already; either way it must be gone.
      assertThat(ScratchClone.sweep(liveUrl)).doesNotContain(fresh.name(), "lockstep_rehearsal_notours");
      assertThat(databases(leftBehind.name())).isZero();
      assertThat(databases(fresh.name())).isOne();
      assertThat(databases("lockstep_rehearsal_notours")).as("no comment saying when it was made: not ours to drop").isOne();
    } finally {
      leftBehind.close();
      live.execute("DROP DATABASE lockstep_rehearsal_notours");
    }
  }

  @Test
  void readsTheCreationTimeBackFromTheComment() {
    assertThat(ScratchClone.createdAt("Lockstep scratch copy of the schema of shop: r-1 (created 2026-12-02T05:00:00Z)"))
        .isEqualTo(Instant.parse("2026-12-02T05:00:00Z"));
    assertThat(ScratchClone.createdAt("someone else's database")).isNull();
    assertThat(ScratchClone.createdAt("(created yesterday)")).isNull();
    assertThat(ScratchClone.createdAt(null)).isNull();
  }

  private static long databases(String likePattern) {
    return live.queryLong("SELECT count(*) FROM pg_database WHERE datname LIKE '" + likePattern.replace("'", "''") + "'");
  }

  /** Clones made for {@code purpose}, found by their comment (other tests may make clones at the same time). */
  private static long copiesFor(String purpose) {
    return live.queryLong("SELECT count(*) FROM pg_database WHERE datname LIKE 'lockstep\\_rehearsal\\_%'"
        + " AND shobj_description(oid, 'pg_database') LIKE '%: " + purpose + " (created %'");
  }

  private static long countOn(ScratchClone clone, String sql) {
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(clone.url().jdbcUrl(), live.user(), live.password());
        java.sql.Statement s = c.createStatement(); java.sql.ResultSet rows = s.executeQuery(sql)) {
      rows.next();
      return rows.getLong(1);
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(sql + " on " + clone + ": " + e.getMessage(), e);
    }
  }

  private static Path script(Path dir, String name, String body) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, "#!/bin/sh\n" + body);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
    return file;
  }
}
