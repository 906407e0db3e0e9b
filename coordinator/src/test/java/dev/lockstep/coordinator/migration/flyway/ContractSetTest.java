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
import org.junit.jupiter.api.Test;

/** A set's contract migrations: Flyway's {@code contract/} folder, the one folder a set's names may carry. */
class ContractSetTest {
  @Test
  void migrationsInTheContractFolderAreTheContract() {
    FlywaySet flyway = FlywaySet.of(set(Map.of("V1__users.sql", "CREATE TABLE users (id int, legacy text);",
        "V2__add_name.sql", "ALTER TABLE users ADD COLUMN name text;",
        "contract/V3__drop_legacy.sql", "ALTER TABLE users DROP COLUMN legacy;",
        "contract/U3__drop_legacy.sql", "ALTER TABLE users ADD COLUMN legacy text;")));
    assertThat(flyway.versioned()).extracting(PendingMigration::version, PendingMigration::contract)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("1", false), org.assertj.core.groups.Tuple.tuple("2", false),
            org.assertj.core.groups.Tuple.tuple("3", true));
    assertThat(flyway.migration(org.flywaydb.core.api.MigrationVersion.fromVersion("3")).script())
        .isEqualTo("contract/V3__drop_legacy.sql");
    assertThat(flyway.undo().values()).singleElement().satisfies(u -> assertThat(u.contract())
        .as("an undo script is never a contract").isFalse());
  }

  @Test
  void oneVersionInsideAndOutsideTheContractFolderIsRefused() {
    assertThatThrownBy(() -> FlywaySet.of(set(Map.of("V3__a.sql", "SELECT 1;", "contract/V3__b.sql", "SELECT 1;"))))
        .isInstanceOf(LockstepException.class).hasMessageContaining("have the same version 3");
  }

  @Test
  void noOtherFolderAndNoContractFolderOfAlembicRevisions() {
    assertThatThrownBy(() -> set(Map.of("other/V3__a.sql", "SELECT 1;")))
        .hasMessageContaining("file 'other/V3__a.sql'").hasMessageContaining("is not a plain file name");
    assertThatThrownBy(() -> set(Map.of("a1_create.py", "revision = 'a1'", "contract/b2_drop.py", "revision = 'b2'")))
        .hasMessageContaining("contract/b2_drop.py").hasMessageContaining("lockstep_phase = \"contract\"");
  }

  private static MigrationSet set(Map<String, String> files) {
    SortedMap<String, byte[]> bytes = new TreeMap<>();
    files.forEach((name, text) -> bytes.put(name, text.getBytes(StandardCharsets.UTF_8)));
    return MigrationSet.of("the test set", bytes);
  }
}
