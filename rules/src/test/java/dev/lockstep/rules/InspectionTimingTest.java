package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.Severity;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Prints how long a snapshot and the rules take on a schema of a realistic size; not a benchmark. */
class InspectionTimingTest {
  private static final int TABLES = 500;
  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass();

  @BeforeAll
  static void createFiveHundredTables() {
    // Every 10th table lost its primary key (restorable), every 50th has duplicates on top (blocks),
    // every 25th has no key column at all (info); the rest are keyed and carry an index and a foreign key.
    db.execute("""
        DO $$
        BEGIN
          FOR i IN 1..%d LOOP
            IF i %% 50 = 0 THEN
              EXECUTE format('CREATE TABLE t%%s (id int, name text, at timestamptz)', i);
              EXECUTE format('INSERT INTO t%%s (id) SELECT mod(g, 90) FROM generate_series(1, 100) g', i);
            ELSIF i %% 25 = 0 THEN
              EXECUTE format('CREATE TABLE t%%s (name text, at timestamptz)', i);
            ELSIF i %% 10 = 0 THEN
              EXECUTE format('CREATE TABLE t%%s (id int, name text, at timestamptz)', i);
              EXECUTE format('INSERT INTO t%%s (id) SELECT g FROM generate_series(1, 100) g', i);
            ELSE
              EXECUTE format('CREATE TABLE t%%s (id int PRIMARY KEY, parent_id int REFERENCES t1(id),'
                  ' name text NOT NULL, at timestamptz, CHECK (length(name) > 0))', i);
              EXECUTE format('CREATE INDEX ON t%%s (name, at)', i);
            END IF;
          END LOOP;
        END $$;
        ANALYZE;
        """.formatted(TABLES));
  }

  @Test
  void snapshotAndRulesOnFiveHundredTables() throws SQLException {
    RuleEngine engine = new RuleEngine();
    try (Connection connection = db.connect()) {
      engine.inspect(connection); // warm up the JIT and the server's catalog caches

      long start = System.nanoTime();
      CatalogSnapshot snapshot = CatalogSnapshot.read(connection);
      long snapshotMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      Inspection inspection = engine.inspect(connection);

      assertThat(snapshot.tables()).hasSize(TABLES);
      assertThat(inspection.findings()).hasSize(TABLES / 10 + TABLES / 25 - TABLES / 50);
      assertThat(inspection.blocking()).hasSize(TABLES / 50);
      assertThat(inspection.repairs()).hasSize(TABLES / 10 - TABLES / 50);
      assertThat(inspection.findings()).filteredOn(f -> f.severity() == Severity.INFO).hasSize(TABLES / 25 - TABLES / 50);
      System.out.printf("TIMING %d tables: catalog snapshot %d ms; snapshot + rules %d ms (%d findings)%n",
          TABLES, snapshotMs, inspection.elapsedMs(), inspection.findings().size());
    }
  }
}
