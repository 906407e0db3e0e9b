package dev.lockstep.coordinator.preflight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.protocol.Mode;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModeClassifierTest {
  private final ModeClassifier classifier = new ModeClassifier();

  private static MigrationPlan plan(String... sql) {
    PendingMigration[] pending = new PendingMigration[sql.length];
    for (int i = 0; i < sql.length; i++) {
      pending[i] = new PendingMigration(Integer.toString(i + 2), "step " + (i + 2), "V" + (i + 2) + "__x.sql", sql[i]);
    }
    return new MigrationPlan("1", Integer.toString(sql.length + 1), List.of(pending));
  }

  @Test
  void additionsRunOnline() {
    ModeDecision d = classifier.classify(plan("CREATE TABLE orders (id bigint PRIMARY KEY);",
        "ALTER TABLE orders ADD COLUMN note text; CREATE INDEX orders_note ON orders (note);"), Mode.AUTO);
    assertThat(d.mode()).isEqualTo(Mode.ONLINE);
  }

  @Test
  void dropsRenamesAndTypeChangesNeedMaintenanceAndSayWhich() {
    ModeDecision d = classifier.classify(plan("ALTER TABLE users DROP COLUMN nickname;",
        "ALTER TABLE users RENAME COLUMN name TO full_name;", "alter table users alter column age type bigint;"), Mode.AUTO);
    assertThat(d.mode()).isEqualTo(Mode.MAINTENANCE);
    assertThat(d.reason()).contains("V2 (step 2) drops a column").contains("V3 (step 3) renames")
        .contains("V4 (step 4) changes a column type");
  }

  @Test
  void commentsDoNotCount() {
    ModeDecision d = classifier.classify(plan("-- we used to DROP COLUMN here\nCREATE TABLE t (id int); /* RENAME later */"), Mode.AUTO);
    assertThat(d.mode()).isEqualTo(Mode.ONLINE);
  }

  @Test
  void anExplicitModeWinsButStillSaysWhatItOverrode() {
    ModeDecision d = classifier.classify(plan("DROP TABLE legacy;"), Mode.ONLINE);
    assertThat(d.mode()).isEqualTo(Mode.ONLINE);
    assertThat(d.reason()).contains("requested by the operator").contains("drops a table");
  }

  @Test
  void nonTransactionalMigrationsAreRefusedByName() {
    assertThatThrownBy(() -> classifier.classify(plan("CREATE INDEX CONCURRENTLY orders_user ON orders (user_id);"), Mode.AUTO))
        .isInstanceOf(LockstepException.class)
        .hasMessageContaining("V2 (step 2)")
        .hasMessageContaining("cannot run in a transaction");
  }
}
