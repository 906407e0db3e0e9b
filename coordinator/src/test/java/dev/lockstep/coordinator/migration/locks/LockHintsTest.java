package dev.lockstep.coordinator.migration.locks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.LockFootprint;
import dev.lockstep.rules.SqlScript;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LockHintsTest {
  private static Optional<String> hint(String sql, String table) {
    return LockHints.hint(SqlScript.parse(sql).statements(), table);
  }

  @Test
  void anIndexBuiltInTheTransactionIsToldToGoConcurrently() {
    assertThat(hint("CREATE INDEX orders_customer ON orders (customer_id);", "orders")).contains(LockHints.INDEX);
    assertThat(hint("create unique index on public.orders (id);", "orders")).contains(LockHints.INDEX);
    assertThat(hint("CREATE INDEX CONCURRENTLY orders_customer ON orders (customer_id);", "orders")).isEmpty();
  }

  @Test
  void aTypeChangeRewritesTheTable() {
    assertThat(hint("ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,2);", "orders")).contains(LockHints.REWRITE);
    assertThat(hint("ALTER TABLE orders ALTER total SET DATA TYPE bigint;", "orders")).contains(LockHints.REWRITE);
    assertThat(hint("ALTER TABLE orders ALTER COLUMN \"total\" TYPE bigint;", "orders")).contains(LockHints.REWRITE);
    // a column called type, and what is done to it, is no type change
    assertThat(hint("ALTER TABLE orders ALTER COLUMN type SET DEFAULT 'x';", "orders")).isEmpty();
  }

  @Test
  void aVolatileDefaultSerialOrStoredColumnRewritesTheTableButAConstantDefaultDoesNot() {
    assertThat(hint("ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();", "orders"))
        .contains(LockHints.VOLATILE_DEFAULT);
    assertThat(hint("ALTER TABLE orders ADD COLUMN seq bigserial;", "orders")).contains(LockHints.VOLATILE_DEFAULT);
    assertThat(hint("ALTER TABLE orders ADD COLUMN t numeric GENERATED ALWAYS AS (total * 2) STORED;", "orders"))
        .contains(LockHints.VOLATILE_DEFAULT);
    assertThat(hint("ALTER TABLE orders ADD COLUMN active boolean NOT NULL DEFAULT true;", "orders")).isEmpty();
    // the word in a comment or a string is no code
    assertThat(hint("ALTER TABLE orders ADD COLUMN note text DEFAULT 'random()'; -- clock_timestamp()", "orders")).isEmpty();
  }

  @Test
  void constraintsAreAddedNotValidFirst() {
    assertThat(hint("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id);", "orders"))
        .contains(LockHints.NOT_VALID);
    assertThat(hint("ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0);", "orders")).contains(LockHints.NOT_VALID);
    assertThat(hint("ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0) NOT VALID;", "orders")).isEmpty();
    assertThat(hint("ALTER TABLE orders ALTER COLUMN note SET NOT NULL;", "orders")).contains(LockHints.NOT_NULL);
    assertThat(hint("ALTER TABLE orders ADD PRIMARY KEY (id);", "orders")).contains(LockHints.UNIQUE_USING_INDEX);
    assertThat(hint("ALTER TABLE orders ADD CONSTRAINT orders_pk PRIMARY KEY USING INDEX orders_id;", "orders")).isEmpty();
  }

  @Test
  void onlyStatementsThatNameTheTableCount() {
    String script = "CREATE INDEX a ON invoices (x); ALTER TABLE orders ADD COLUMN note2 text;";
    assertThat(hint(script, "orders")).isEmpty();
    assertThat(hint(script, "invoices")).contains(LockHints.INDEX);
    assertThat(hint("CREATE INDEX ON \"Orders\" (x);", "Orders")).contains(LockHints.INDEX);
  }

  @Test
  void modesSayWhatTheyBlock() {
    assertThat(LockMode.fromPgLocks("ShareLock")).contains(LockMode.SHARE);
    assertThat(LockMode.fromPgLocks("advisory")).isEmpty();
    assertThat(LockMode.SHARE_UPDATE_EXCLUSIVE.blocks()).isEmpty();
    assertThat(LockMode.SHARE_UPDATE_EXCLUSIVE.worthListing()).isTrue();
    assertThat(LockMode.ROW_EXCLUSIVE.worthListing()).isFalse();
    assertThat(LockMode.SHARE.blocks()).containsExactly(LockFootprint.WRITES);
    assertThat(LockMode.EXCLUSIVE.blocks()).containsExactly(LockFootprint.WRITES);
    assertThat(LockMode.ACCESS_EXCLUSIVE.blocks()).containsExactly(LockFootprint.WRITES, LockFootprint.READS);
    assertThat(LockMode.SHARE_ROW_EXCLUSIVE.sqlName()).isEqualTo("SHARE ROW EXCLUSIVE");
  }
}
