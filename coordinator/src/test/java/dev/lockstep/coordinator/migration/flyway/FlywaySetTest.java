package dev.lockstep.coordinator.migration.flyway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.set.MigrationSet;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;

/** Flyway's view of a set: what it reads from the file names, and its refusals, word for word. */
class FlywaySetTest {
  private static final String NOT_A_MIGRATION = " is not a migration file: a migration file is named"
      + " V<version>__<description>.sql or U<version>__<description>.sql (or that name followed by .conf), a plain file"
      + " name of at most 255 bytes";

  @Test
  void readsVersionsDescriptionsUndoScriptsAndConfigs() {
    FlywaySet flyway = FlywaySet.of(set(Map.of("V1__create_user.sql", "CREATE TABLE u (id int);",
        "V1_1__add_email.sql", "ALTER TABLE u ADD email text;", "V1.10__index.sql", "CREATE INDEX CONCURRENTLY i ON u (id);",
        "V1.10__index.sql.conf", "executeInTransaction=false", "U1.10__index.sql", "DROP INDEX i;")));
    assertThat(flyway.versioned()).extracting(PendingMigration::version, PendingMigration::description,
        PendingMigration::script, PendingMigration::executeInTransaction).containsExactly(
            org.assertj.core.groups.Tuple.tuple("1", "create user", "V1__create_user.sql", true),
            org.assertj.core.groups.Tuple.tuple("1.1", "add email", "V1_1__add_email.sql", true),
            org.assertj.core.groups.Tuple.tuple("1.10", "index", "V1.10__index.sql", false));
    assertThat(flyway.newest()).isEqualTo(MigrationVersion.fromVersion("1.10"));
    assertThat(flyway.undo()).containsOnlyKeys(MigrationVersion.fromVersion("1.10"));
    assertThat(flyway.undo().get(MigrationVersion.fromVersion("1.10")).undo()).isTrue();
    assertThat(flyway.migration(MigrationVersion.fromVersion("1.1.0"))).isNotNull();
  }

  @Test
  void theSameFilesUnderAnotherNameShareTheLexedMigrationsAndTakeTheNewName() {
    MigrationSet folder = set(Map.of("V1__create_user.sql", "CREATE TABLE u (id int);", "V2__more.sql", "SELECT 1;"));
    FlywaySet first = FlywaySet.of(folder);
    FlywaySet stored = FlywaySet.of(folder.from("the set 1234 of release r-1"));

    assertThat(stored).isNotSameAs(first);
    assertThat(stored.set().origin()).isEqualTo("the set 1234 of release r-1");
    // Not lexed again: the very same migrations (and their parsed statements).
    assertThat(stored.versioned()).hasSize(2);
    for (int i = 0; i < 2; i++) {
      assertThat(stored.versioned().get(i)).isSameAs(first.versioned().get(i));
    }
    assertThat(stored.migration(MigrationVersion.fromVersion("2"))).isSameAs(first.migration(MigrationVersion.fromVersion("2")));
  }

  @Test
  void refusesABadNameWithTheSameWords() {
    refused(Map.of("README.sql", "--"), "file 'README.sql' in the uploaded set" + NOT_A_MIGRATION);
    refused(Map.of("V__x.sql", "--"), "file 'V__x.sql' in the uploaded set" + NOT_A_MIGRATION);
    refused(Map.of("V1__.sql", "--"), "file 'V1__.sql' in the uploaded set" + NOT_A_MIGRATION);
    refused(Map.of("V1__a.sql.bak", "--"), "file 'V1__a.sql.bak' in the uploaded set" + NOT_A_MIGRATION);
    refused(Map.of("R__views.sql", "--"), "file 'R__views.sql' in the uploaded set is not a migration file: repeatable"
        + " (R__…) migrations are not supported; use versioned V… migrations");
    refused(Map.of("R1__views.sql", "--"), "file 'R1__views.sql' in the uploaded set is not a migration file: repeatable"
        + " (R__…) migrations are not supported; use versioned V… migrations");
    refused(Map.of("V1..2__x.sql", "--"), "migration file V1..2__x.sql has a version Flyway cannot read (1..2): Version"
        + " may only contain 0..9 and . (dot). Invalid version: 1..2");
    refused(Map.of("V1___x.sql.conf", "executeInTransaction=false"), "migration file V1___x.sql.conf has a version"
        + " Flyway cannot read (1_): Version may only contain 0..9 and . (dot). Invalid version: 1.");
    refused(Map.of("U1__a.sql", "--"), "undo script U1__a.sql in the uploaded set has no migration V1__….sql to undo;"
        + " add it or remove the undo script");
    refused(Map.of("V1__a.sql.conf", "executeInTransaction=false"), "config file V1__a.sql.conf in the uploaded set has"
        + " no script V1__a.sql beside it; add it or remove the config file");
    refused(Map.of("V1__a.sql", "--", "V1.0__b.sql", "--"), "migrations V1.0__b.sql and V1__a.sql in the uploaded set"
        + " have the same version 1; renumber one");
  }

  private static void refused(Map<String, String> files, String message) {
    assertThatThrownBy(() -> FlywaySet.of(set(files))).isInstanceOf(LockstepException.class)
        .hasMessage(message)
        .satisfies(e -> assertThat(((LockstepException) e).code()).isEqualTo(LockstepException.Code.UNPROCESSABLE));
  }

  private static MigrationSet set(Map<String, String> files) {
    SortedMap<String, byte[]> bytes = new TreeMap<>();
    files.forEach((name, content) -> bytes.put(name, content.getBytes(StandardCharsets.UTF_8)));
    return MigrationSet.of("the uploaded set", bytes);
  }
}
