package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.Finding;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lockstep check} must change nothing: with every rule finding something to report and repair,
 * the catalog, the data and the sequences read the same after an inspection as before, whether it ran
 * on an autocommit connection or inside a caller's transaction that then commits.
 */
class InspectionChangesNothingTest {
  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass();

  @TempDir
  static Path folder;

  @BeforeAll
  static void createADriftedDatabase() throws IOException {
    db.execute("""
        CREATE TABLE "user" (id serial, name text);
        INSERT INTO "user" (id, name) SELECT g, 'user ' || g FROM generate_series(1, 100) g;
        CREATE TABLE twin (id int, name text);
        INSERT INTO twin VALUES (1, 'a'), (1, 'b'), (NULL, 'c');
        CREATE TABLE account (id int PRIMARY KEY, email text, ratio int);
        INSERT INTO account VALUES (1, 'a@example.com', 1), (2, 'a@example.com', 0), (3, 'c@example.com', 3);
        CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50),
          description varchar(200) NOT NULL, type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int,
          installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(),
          execution_time int NOT NULL, success boolean NOT NULL);
        INSERT INTO flyway_schema_history VALUES
          (1, '1', 'create user', 'SQL', 'V1__create_user.sql', 12345, 'app', now(), 5, true),
          (2, '2', 'unique email', 'SQL', 'V2__unique_email.sql', 678, 'app', now(), 5, false);
        COMMENT ON TABLE account IS 'accounts';
        """);
    assertFails("CREATE UNIQUE INDEX CONCURRENTLY account_email ON account (email)");
    assertFails("CREATE INDEX CONCURRENTLY account_inverse ON account ((1 / ratio))");
    db.execute("UPDATE account SET ratio = 2 WHERE id = 2");
    Files.writeString(folder.resolve("V1__create_user.sql"), "CREATE TABLE \"user\" (id serial PRIMARY KEY);");
    Files.writeString(folder.resolve("rls.json"), """
        {"id": "no-comment", "severity": "warn", "message": "{object} has no comment",
         "detect": "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public' AND obj_description(c.oid, 'pg_class') IS NULL",
         "repair": "COMMENT ON TABLE {table} IS 'checked'"}
        """);
  }

  @Test
  void inspectionLeavesCatalogDataAndSequencesExactlyAsTheyWere() throws IOException, SQLException {
    RuleEngine engine = new RuleEngine(UserRules.load(folder));
    InspectionContext context = InspectionContext.empty().withMigrationFiles(MigrationFolders.read(folder))
        .withTablesTouched(Set.of("public.account"));
    try (Connection holder = db.connect(); Connection connection = db.connect()) {
      holder.setAutoCommit(false);
      try (Statement statement = holder.createStatement()) {
        statement.execute("LOCK TABLE account IN ACCESS SHARE MODE");
      }
      List<String> before = fingerprint();

      List<Finding> findings = engine.inspect(connection, context).findings();
      assertThat(findings).extracting(Finding::rule).contains("failed-migration", "missing-primary-key",
          "sequence-behind", "invalid-index", "blocking-sessions", "no-comment");
      assertThat(findings).filteredOn(Finding::hasRepair).hasSizeGreaterThanOrEqualTo(5);
      assertThat(fingerprint()).isEqualTo(before);

      connection.setAutoCommit(false);
      assertThat(engine.inspect(connection, context).findings()).isEqualTo(findings);
      connection.commit();
      assertThat(fingerprint()).isEqualTo(before);

      holder.rollback();

      // A rehearsal of the repairs, rolled back, changes nothing as long as it leaves out what a rollback
      // cannot undo; the fingerprint sees the one thing that sticks (setval), so it would see a leak.
      List<Finding> planned = findings.stream().filter(f -> f.hasRepair() && !f.blocks()).toList();
      engine.apply(connection, Repairs.rehearsable(planned));
      connection.rollback();
      assertThat(fingerprint()).isEqualTo(before);
      engine.apply(connection, Repairs.inTransaction(planned));
      connection.rollback();
      assertThat(fingerprint()).isNotEqualTo(before)
          .containsAll(before.stream().filter(line -> !line.startsWith("public.user_id_seq ")).toList());
    }
  }

  /**
   * Every user relation's catalog rows (pg_class, pg_attribute, pg_constraint, pg_index, pg_sequence,
   * comments), each table's rows, and each sequence's state, as text. Planner statistics
   * (reltuples, relpages) are left out, as autovacuum may update them at any moment, and so is
   * relhasindex, a hint PostgreSQL sets in place when an index is built, even one rolled back, and only
   * VACUUM clears.
   */
  private static List<String> fingerprint() throws SQLException {
    List<String> lines = new ArrayList<>();
    String userRelations = "(select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        + " where n.nspname = 'public')";
    try (Connection connection = db.connect(); Statement statement = connection.createStatement()) {
      lines.addAll(strings(statement, "select format('class %s %s %s %s %s %s', oid, relname, relkind, relfilenode,"
          + " relrowsecurity, relacl) from pg_class where oid in " + userRelations + " order by 1"));
      lines.addAll(strings(statement, "select format('attribute %s %s %s %s %s %s', attrelid, attname, atttypid,"
          + " attnotnull, attisdropped, atthasdef) from pg_attribute where attrelid in " + userRelations
          + " order by 1"));
      lines.addAll(strings(statement, "select format('constraint %s %s %s', conrelid, conname,"
          + " pg_get_constraintdef(oid)) from pg_constraint where conrelid in " + userRelations + " order by 1"));
      lines.addAll(strings(statement, "select format('index %s %s %s %s %s', indexrelid, indisvalid, indisready,"
          + " indislive, pg_get_indexdef(indexrelid)) from pg_index where indrelid in " + userRelations + " order by 1"));
      lines.addAll(strings(statement, "select format('sequence %s %s %s %s', seqrelid, seqstart, seqincrement, seqmax)"
          + " from pg_sequence where seqrelid in " + userRelations + " order by 1"));
      lines.addAll(strings(statement, "select format('comment %s %s', objoid, description) from pg_description"
          + " where objoid in " + userRelations + " order by 1"));
      for (String table : strings(statement, "select format('%I.%I', schemaname, relname) from pg_stat_user_tables"
          + " order by 1")) {
        lines.addAll(strings(statement, "select '" + table.replace("'", "''") + " ' || coalesce(md5(string_agg(t::text,"
            + " ',' order by t::text)), 'empty') from " + table + " t"));
      }
      for (String sequence : strings(statement, "select format('%I.%I', schemaname, sequencename) from pg_sequences"
          + " order by 1")) {
        lines.addAll(strings(statement, "select '" + sequence.replace("'", "''")
            + " ' || last_value || ' ' || is_called from " + sequence));
      }
    }
    return lines;
  }

  private static List<String> strings(Statement statement, String sql) throws SQLException {
    List<String> values = new ArrayList<>();
    try (ResultSet rows = statement.executeQuery(sql)) {
      while (rows.next()) {
        values.add(rows.getString(1));
      }
    }
    return values;
  }

  private static void assertFails(String sql) {
    try {
      db.execute(sql);
    } catch (IllegalStateException expected) {
      return; // the concurrent build failed, leaving an invalid index: the drift under test
    }
    throw new AssertionError("expected to fail: " + sql);
  }
}
