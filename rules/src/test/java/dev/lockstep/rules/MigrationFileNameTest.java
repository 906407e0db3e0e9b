package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.rules.MigrationFileName.Kind;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationVersion;
import org.junit.jupiter.api.Test;

/**
 * The one reading of a migration's file name. It replaced two: the coordinator's Flyway set (which took V, U and R
 * names and their {@code .sql.conf}, and refused what it could not run) and the failed-migration rule's folder scan
 * (which took {@code V…sql} only). Where they differed, the difference is named below.
 */
class MigrationFileNameTest {

  @Test
  void readsAVersionedMigration() {
    MigrationFileName name = parse("V1_1__add_email.sql");
    assertThat(name).isEqualTo(new MigrationFileName("V1_1__add_email.sql", Kind.VERSIONED, "1_1", "add email", false));
    assertThat(name.version()).isEqualTo(MigrationVersion.fromVersion("1.1"));
    assertThat(name.version()).hasToString("1.1");
    assertThat(name.script()).isEqualTo("V1_1__add_email.sql");
    assertThat(name.versionedScript()).isTrue();
  }

  @Test
  void aNameInTheContractFolderIsAContractMigration() {
    MigrationFileName name = parse("contract/V7__drop_legacy_name.sql");
    assertThat(name.contract()).isTrue();
    assertThat(name.versionText()).isEqualTo("7");
    assertThat(name.description()).isEqualTo("drop legacy name");
    assertThat(parse("contract/V7__drop_legacy_name.sql.conf").script()).isEqualTo("contract/V7__drop_legacy_name.sql");
    assertThat(parse("V7__drop_legacy_name.sql").contract()).isFalse();
    assertThat(MigrationFileName.parse("other/V7__x.sql")).as("only contract/ names a folder").isEmpty();
  }

  @Test
  void versionsAreFlywaysNotText() {
    assertThat(parse("V1_1__a.sql").version()).isEqualTo(parse("V1.1__a.sql").version());
    assertThat(parse("V1.0__a.sql").version()).isEqualTo(parse("V1__a.sql").version());
    assertThat(parse("V01__a.sql").version()).isEqualTo(parse("V1__a.sql").version());
    assertThat(parse("V1.10__a.sql").version()).isGreaterThan(parse("V1.9__a.sql").version());
    assertThat(parse("V1.1.1_0__a.sql").version()).hasToString("1.1.1.0");
  }

  @Test
  void readsUndoRepeatableAndConfigNames() {
    assertThat(parse("U2__drop_index.sql")).isEqualTo(new MigrationFileName("U2__drop_index.sql", Kind.UNDO, "2",
        "drop index", false));
    assertThat(parse("U2__drop_index.sql").versionedScript()).isFalse();

    MigrationFileName conf = parse("V2__concurrent_index.sql.conf");
    assertThat(conf).isEqualTo(new MigrationFileName("V2__concurrent_index.sql.conf", Kind.VERSIONED, "2",
        "concurrent index", true));
    assertThat(conf.script()).isEqualTo("V2__concurrent_index.sql");
    assertThat(conf.versionedScript()).as("a config is not a script").isFalse();

    MigrationFileName repeatable = parse("R__refresh_views.sql");
    assertThat(repeatable).isEqualTo(new MigrationFileName("R__refresh_views.sql", Kind.REPEATABLE, null,
        "refresh views", false));
    assertThat(repeatable.version()).isNull();
    assertThat(repeatable.versionedScript()).isFalse();
    assertThat(parse("R1__x.sql").kind()).as("read, for the caller to refuse").isEqualTo(Kind.REPEATABLE);
  }

  @Test
  void theDescriptionIsWhatFollowsTheVersionUpToSql() {
    assertThat(parse("V1__a b.sql").description()).isEqualTo("a b");
    assertThat(parse("V1__x.sql.sql").description()).isEqualTo("x.sql");
    assertThat(parse("V3__café_ünïcødé.sql").description()).isEqualTo("café ünïcødé");
    assertThat(parse("V1__a__b.sql").description()).isEqualTo("a  b");
  }

  @Test
  void aVersionWithoutADigitAfterEachDotReadsButFlywayCannotUseIt() {
    // The version takes every digit, dot and underscore it can (both former parsers did): "1_", then "__x".
    MigrationFileName trailing = parse("V1___x.sql");
    assertThat(trailing.versionText()).isEqualTo("1_");
    assertThat(trailing.description()).isEqualTo("x");
    assertThatThrownBy(trailing::version).isInstanceOf(FlywayException.class)
        .hasMessage("Version may only contain 0..9 and . (dot). Invalid version: 1.");
    assertThat(trailing.versionedScript()).isFalse();
    assertThatThrownBy(parse("V1..2__x.sql")::version).isInstanceOf(FlywayException.class)
        .hasMessageContaining("Invalid version: 1..2");
  }

  @Test
  void refusesWhatIsNotAMigrationsName() {
    for (String name : new String[] {"README.md", "README.sql", "V1__a.SQL", "v1__a.sql", "V1_a.sql", "X1__a.sql",
        "1__a.sql", "Va__x.sql", "V1__a.sql.bak", "V1__a.conf", "V1__a.py", "V1__a.sql.conf.conf", "V1__a.sqlx",
        "sub/V1__a.sql", " V1__a.sql", "V1__a.sql "}) {
      assertThat(MigrationFileName.parse(name)).as(name).isEmpty();
    }
  }

  @Test
  void anEmptyDescriptionIsRefused() {
    // The failed-migration rule's scan took V1__.sql (description ""); the Flyway set refused it, so no release
    // set ever held one, and now neither reads it.
    assertThat(MigrationFileName.parse("V1__.sql")).isEmpty();
    assertThat(MigrationFileName.parse("V1__.sql.conf")).isEmpty();
  }

  @Test
  void aNameWithoutAVersionIsReadForTheCallerToRefuse() {
    // The rule's scan needed a version; the Flyway set read "V__x.sql" and then refused it for lacking one.
    MigrationFileName name = parse("V__x.sql");
    assertThat(name.kind()).isEqualTo(Kind.VERSIONED);
    assertThat(name.versionText()).isNull();
    assertThat(name.versionedScript()).isFalse();
  }

  private static MigrationFileName parse(String name) {
    return MigrationFileName.parse(name).orElseThrow(() -> new AssertionError(name + " should read"));
  }
}
