package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Against migrations applied by the real Flyway 13, whose checksums ours must equal. */
class FailedMigrationRuleTest {
  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass().emptiedBeforeEach();

  @TempDir
  Path migrations;

  private final RuleEngine engine = new RuleEngine();

  @Test
  void ourChecksumIsFlywaysWhateverTheEncodingDetails() throws IOException, SQLException {
    write("V1__plain.sql", "CREATE TABLE account (id int PRIMARY KEY, email text);\n");
    write("V2__crlf_and_bom.sql", "\uFEFF-- a comment\r\nCREATE TABLE post (id int PRIMARY KEY);\r\n\r\n");
    write("V3__unicode_no_final_newline.sql", "COMMENT ON TABLE post IS 'café ünïcødé 日本 😀';\n\n  \t");
    write("V4__old_mac_line_ends.sql", "ALTER TABLE post ADD title text;\rALTER TABLE post ADD body text;\r");
    write("V5__bom_on_a_later_line.sql", "SELECT 1;\n\uFEFFSELECT 2;\n");
    write("sub/V6_1__in_a_subfolder.sql", "SELECT 3;");
    write("U5__undo_is_ignored.sql", "SELECT 'undo';");
    write("README.md", "not a migration");
    migrate();

    Map<String, Integer> applied = appliedChecksums();
    assertThat(applied).containsOnlyKeys("1", "2", "3", "4", "5", "6.1");
    assertThat(applied).containsEntry("1", FlywayChecksum.of(migrations.resolve("V1__plain.sql")))
        .containsEntry("2", FlywayChecksum.of(migrations.resolve("V2__crlf_and_bom.sql")))
        .containsEntry("3", FlywayChecksum.of(migrations.resolve("V3__unicode_no_final_newline.sql")))
        .containsEntry("4", FlywayChecksum.of(migrations.resolve("V4__old_mac_line_ends.sql")))
        .containsEntry("5", FlywayChecksum.of(migrations.resolve("V5__bom_on_a_later_line.sql")))
        .containsEntry("6.1", FlywayChecksum.of(migrations.resolve("sub/V6_1__in_a_subfolder.sql")));
    assertThat(FlywayChecksum.of("CREATE TABLE account (id int PRIMARY KEY, email text);\n")).isEqualTo(applied.get("1"));
    // The rule gets the files as text (a release's set, in memory): the same checksum from the text as from the file.
    Map<String, String> versions = Map.of("V1__plain.sql", "1", "V2__crlf_and_bom.sql", "2",
        "V3__unicode_no_final_newline.sql", "3", "V4__old_mac_line_ends.sql", "4", "V5__bom_on_a_later_line.sql", "5",
        "sub/V6_1__in_a_subfolder.sql", "6.1");
    MigrationFiles inMemory = MigrationFolders.read(migrations);
    versions.forEach((file, version) -> {
      assertThat(inMemory.files().get(file)).as(file).isEqualTo(new String(bytes(file), StandardCharsets.UTF_8));
      assertThat(FlywayChecksum.of(inMemory.files().get(file))).as(file)
          .isEqualTo(checksumOfFile(file)).isEqualTo(applied.get(version));
    });
    assertThat(inMemory.files().get("V2__crlf_and_bom.sql")).startsWith("\uFEFF").contains("\r\n");
    assertThat(findings()).isEmpty();
  }

  @Test
  void theFilesAreTheOnesGivenInMemoryNotAFolder() throws IOException, SQLException {
    String account = "CREATE TABLE account (id int PRIMARY KEY);\r\n";
    String post = "\uFEFFCREATE TABLE post (id int PRIMARY KEY);\n";
    write("V1__create_account.sql", account);
    write("V2__create_post.sql", post);
    write("V3__create_tag.sql", "CREATE TABLE tag (id int PRIMARY KEY);\n");
    migrate();
    Files.delete(migrations.resolve("V1__create_account.sql"));
    Files.delete(migrations.resolve("V2__create_post.sql"));
    Files.delete(migrations.resolve("V3__create_tag.sql")); // nothing left on disk

    TreeMap<String, String> files = new TreeMap<>(Map.of("V1__create_account.sql", account, "V2__create_post.sql", post,
        "V3__create_tag.sql", "CREATE TABLE tag (id int PRIMARY KEY);\n"));
    assertThat(findings(files)).isEmpty();

    files.put("V2__create_post.sql", post.replace("int", "bigint"));
    assertThat(findings(files)).singleElement().satisfies(f -> assertThat(f.message())
        .startsWith("migration V2 (create post) was applied with checksum " + FlywayChecksum.of(post)));

    files.remove("V2__create_post.sql");
    assertThat(findings(files)).singleElement().satisfies(f -> assertThat(f.message()).startsWith(
        "migration V2 (create post) was applied (installed rank 2), but the uploaded set has no file for it"));
  }

  @Test
  void aMigrationEditedAfterItRanBlocksUntilItIsRestored() throws IOException, SQLException {
    write("V1__create_account.sql", "CREATE TABLE account (id int PRIMARY KEY);\n");
    String original = "CREATE TABLE post (id int PRIMARY KEY);\n";
    write("V2__create_post.sql", original);
    migrate();
    int appliedChecksum = FlywayChecksum.of(original);

    write("V2__create_post.sql", "CREATE TABLE post (id bigint PRIMARY KEY);\n");
    int editedChecksum = FlywayChecksum.of(migrations.resolve("V2__create_post.sql"));
    assertThat(findings()).containsExactly(new Finding("failed-migration", Severity.BLOCK, "V2",
        "migration V2 (create post) was applied with checksum " + appliedChecksum + ", but V2__create_post.sql now has"
            + " checksum " + editedChecksum + " (the file was edited after it ran); Flyway validates applied migrations"
            + " and would refuse to migrate. Restore the file as it was applied; or, if the database really matches the"
            + " new file, align the history with flyway repair; then run the release again; Lockstep never rewrites"
            + " the history itself", List.of()));
    assertThatThrownBy(this::migrate).hasMessageContaining("checksum mismatch"); // Flyway agrees

    write("V2__create_post.sql", original.replace("\n", "\r\n")); // line endings alone change nothing
    assertThat(findings()).isEmpty();
    migrate();
  }

  @Test
  void aRenamedOrMissingMigrationBlocksButAFutureOneDoesNot() throws IOException, SQLException {
    write("V1__create_account.sql", "CREATE TABLE account (id int PRIMARY KEY);\n");
    write("V2__create_post.sql", "CREATE TABLE post (id int PRIMARY KEY);\n");
    write("V3__create_tag.sql", "CREATE TABLE tag (id int PRIMARY KEY);\n");
    migrate();

    Files.move(migrations.resolve("V2__create_post.sql"), migrations.resolve("V2__create_posts.sql"));
    assertThat(findings()).singleElement().satisfies(finding -> assertThat(finding.message()).startsWith(
        "migration V2 (create post) was applied as \"create post\", but its file is now V2__create_posts.sql"
            + " (\"create posts\")"));

    Files.delete(migrations.resolve("V2__create_posts.sql"));
    assertThat(findings()).singleElement().satisfies(finding -> {
      assertThat(finding.object()).isEqualTo("V2");
      assertThat(finding.message()).startsWith("migration V2 (create post) was applied (installed rank 2), but the"
          + " migrations folder " + migrations + " has no file for it, though it has newer ones");
    });

    // Deployed code one release behind the database: V3 is a future migration, as Flyway sees it.
    write("V2__create_post.sql", "CREATE TABLE post (id int PRIMARY KEY);\n");
    Files.delete(migrations.resolve("V3__create_tag.sql"));
    assertThat(findings()).isEmpty();
  }

  /** A non-transactional migration that fails is recorded as failed; PostgreSQL rolled back nothing of it. */
  @Test
  void aFailedNonTransactionalMigrationBlocksNamingItsVersionEvenWithoutTheFolder() throws IOException, SQLException {
    write("V1__create_account.sql", "CREATE TABLE account (id int PRIMARY KEY, email text);\n"
        + "INSERT INTO account VALUES (1, 'a@example.com'), (2, 'a@example.com');\n");
    write("V2__unique_email.sql", "CREATE UNIQUE INDEX CONCURRENTLY account_email ON account (email);\n");
    assertThatThrownBy(this::migrate).isInstanceOf(FlywayException.class);
    assertThat(db.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '2' AND NOT success"))
        .isEqualTo(1);

    Finding failed = new Finding("failed-migration", Severity.BLOCK, "V2", "Flyway's history (installed rank 2)"
        + " says migration V2 (unique email) failed, so Flyway will not migrate past it, and the schema may be"
        + " half-changed; see what of V2__unique_email.sql was applied, complete or undo it by hand, then remove the"
        + " failed entry (flyway repair) and run the release again; Lockstep never rewrites the history itself",
        List.of());
    assertThat(findings()).containsExactly(failed);
    assertThat(db.inspect(engine).findings()).filteredOn(f -> f.rule().equals("failed-migration"))
        .containsExactly(failed);

    // The operator cleans up: duplicates removed, the half-built index dropped, the failed entry repaired.
    db.execute("DELETE FROM account WHERE id = 2; DROP INDEX account_email");
    flyway().repair();
    assertThat(findings()).isEmpty();
    migrate();
    assertThat(findings()).isEmpty();
  }

  private List<Finding> findings() throws IOException, SQLException {
    return db.findings(engine, InspectionContext.empty().withMigrationFiles(MigrationFolders.read(migrations)),
        FailedMigrationRule.ID);
  }

  private List<Finding> findings(TreeMap<String, String> files) throws SQLException {
    return db.findings(engine, InspectionContext.empty().withMigrationFiles("the uploaded set", files),
        FailedMigrationRule.ID);
  }

  private byte[] bytes(String file) {
    try {
      return Files.readAllBytes(migrations.resolve(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private int checksumOfFile(String file) {
    try {
      return FlywayChecksum.of(migrations.resolve(file));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void write(String name, String content) throws IOException {
    Path file = migrations.resolve(name);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content, StandardCharsets.UTF_8);
  }

  private Flyway flyway() {
    FluentConfiguration configuration = Flyway.configure()
        .dataSource(db.jdbcUrl(), db.user(), db.password())
        .locations("filesystem:" + migrations);
    // A concurrent index build hangs under Flyway's default transactional advisory lock.
    configuration.getConfigurationExtension(PostgreSQLConfigurationExtension.class).setTransactionalLock(false);
    return configuration.load();
  }

  private void migrate() {
    flyway().migrate();
  }

  private static Map<String, Integer> appliedChecksums() throws SQLException {
    Map<String, Integer> checksums = new LinkedHashMap<>();
    try (Connection connection = db.connect(); Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT version, checksum FROM flyway_schema_history"
            + " WHERE type = 'SQL' ORDER BY installed_rank")) {
      while (rows.next()) {
        checksums.put(rows.getString(1), rows.getInt(2));
      }
    }
    return checksums;
  }
}
