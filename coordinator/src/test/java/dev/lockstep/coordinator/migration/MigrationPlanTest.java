package dev.lockstep.coordinator.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.error.LockstepException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A plan's contract: last, transactional, and not at all on a database with nothing applied yet. */
class MigrationPlanTest {
  private static final PendingMigration V2 = new PendingMigration("2", "add display name", "V2__add_display_name.sql",
      "ALTER TABLE users ADD COLUMN display_name text;", false, true, false);
  private static final PendingMigration V3 = new PendingMigration("3", "drop legacy name",
      "contract/V3__drop_legacy_name.sql", "ALTER TABLE users DROP COLUMN legacy_name;", false, true, true);
  private static final PendingMigration V4 = new PendingMigration("4", "add nickname", "V4__add_nickname.sql",
      "ALTER TABLE users ADD COLUMN nickname text;", false, true, false);

  @Test
  void theContractRunsAfterTheSwitchInOneStepOfItsOwn() {
    MigrationPlan plan = MigrationPlan.upgrade("1", "3", List.of(V2, V3));
    assertThat(plan.expand()).containsExactly(V2);
    assertThat(plan.contract()).containsExactly(V3);
    assertThat(plan.steps()).singleElement().satisfies(s -> assertThat(s.migrations()).containsExactly(V2));
    assertThat(plan.contractStep()).hasValueSatisfying(s -> {
      assertThat(s.migrations()).containsExactly(V3);
      assertThat(s.transactional()).isTrue();
    });
    assertThat(plan.pendingLabels()).containsExactly("V2 (add display name)", "V3 (drop legacy name)");
  }

  @Test
  void aContractBelowAnotherMigrationIsRefusedNamingBothFiles() {
    assertThatThrownBy(() -> MigrationPlan.upgrade("1", "4", List.of(V2, V3, V4)))
        .isInstanceOf(LockstepException.class)
        .hasMessageContaining("contract migration contract/V3__drop_legacy_name.sql (V3 (drop legacy name)) comes before"
            + " V4__add_nickname.sql (V4 (add nickname))")
        .hasMessageContaining("release in two steps")
        .satisfies(e -> assertThat(((LockstepException) e).code()).isEqualTo(LockstepException.Code.UNPROCESSABLE));
  }

  @Test
  void aContractThatCannotRunInATransactionIsRefused() {
    PendingMigration concurrently = new PendingMigration("3", "drop index", "contract/V3__drop_index.sql",
        "DROP INDEX CONCURRENTLY users_email;", false, true, true);
    assertThatThrownBy(() -> MigrationPlan.upgrade("2", "3", List.of(concurrently)))
        .hasMessageContaining("contract migration contract/V3__drop_index.sql (V3 (drop index)) cannot run in a transaction")
        .hasMessageContaining("DROP INDEX");
  }

  @Test
  void onAnEmptyDatabaseThereIsNoOldCodeSoNothingWaits() {
    MigrationPlan plan = MigrationPlan.upgrade(null, "4", List.of(V2, V3, V4));
    assertThat(plan.contract()).isEmpty();
    assertThat(plan.contractStep()).isEmpty();
    assertThat(plan.steps()).singleElement().satisfies(s -> assertThat(s.migrations()).extracting(PendingMigration::version)
        .containsExactly("2", "3", "4"));
  }
}
