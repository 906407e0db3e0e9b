package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.Finding;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The snapshot and the rules on a generated schema of 5,000 tables (target: snapshot plus all rules
 * under 2 s). Not part of a normal build; run it with
 *
 * <pre>
 * mvn -B -o -pl protocol,testkit install -DskipTests
 * mvn -B -o -pl rules test -Dgroups=benchmark -DexcludedGroups=
 * </pre>
 *
 * <p>Every table has a {@code bigserial} id (so 5,000 owned sequences), a name, a timestamp, an amount,
 * an index; every 3rd a foreign key to the one before; every 2nd a second index. Every 10th lost its
 * primary key (a repair), every 100th of those has duplicates (a block); every 50th holds 100 rows and
 * every 100th has its sequence behind; 10 tables carry an invalid index.
 */
@Tag("benchmark")
class CatalogBenchmarkTest {
  private static final int TABLES = 5_000;
  private static final int BATCH = 250;
  private static final int RUNS = 7;
  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass();

  @BeforeAll
  static void generateSchema() throws SQLException {
    long start = System.nanoTime();
    // In batches: one transaction creating all 5,000 tables would run out of lock slots.
    for (int from = 1; from <= TABLES; from += BATCH) {
      db.execute("""
          DO $$
          BEGIN
            FOR i IN %d..%d LOOP
              EXECUTE format('CREATE TABLE t%%s (id bigserial %%s, parent_id bigint %%s, name text NOT NULL,'
                  ' created_at timestamptz NOT NULL DEFAULT now(), amount numeric(12, 2), note text)',
                  i, CASE WHEN i %% 10 = 0 THEN '' ELSE 'PRIMARY KEY' END,
                  CASE WHEN i %% 3 = 0 AND (i - 1) %% 10 <> 0 THEN format('REFERENCES t%%s (id)', i - 1) ELSE '' END);
              EXECUTE format('CREATE INDEX t%%s_name ON t%%s (name)', i, i);
              IF i %% 2 = 0 THEN
                EXECUTE format('CREATE INDEX t%%s_created ON t%%s (created_at, amount)', i, i);
              END IF;
              IF i %% 50 = 0 THEN
                EXECUTE format('INSERT INTO t%%s (name) SELECT ''row '' || g FROM generate_series(1, 100) g', i);
              END IF;
              IF i %% 100 = 0 THEN
                EXECUTE format('INSERT INTO t%%s (id, name) SELECT g, ''late '' || g FROM generate_series(101, 150) g', i);
              END IF;
              IF i %% 1000 = 0 THEN
                EXECUTE format('INSERT INTO t%%s (id, name) VALUES (1, ''twin'')', i);
              END IF;
            END LOOP;
          END $$;
          """.formatted(from, Math.min(from + BATCH - 1, TABLES)));
    }
    try (Connection connection = db.connect(); Statement statement = connection.createStatement()) {
      for (int i = 1; i <= 10; i++) {
        int table = i * 7;
        statement.execute("INSERT INTO t" + table + " (name) VALUES ('dup'), ('dup')");
        try {
          statement.execute("CREATE UNIQUE INDEX CONCURRENTLY t" + table + "_unique_name ON t" + table + " (name)");
        } catch (SQLException expected) {
          // duplicates: the build fails and leaves the index invalid, as intended
        }
      }
      statement.execute("ANALYZE");
    }
    System.out.printf("BENCHMARK generated %d tables in %.1f s%n", TABLES, (System.nanoTime() - start) / 1e9);
  }

  @Test
  void snapshotAndAllRulesOnFiveThousandTables() throws SQLException {
    RuleEngine engine = new RuleEngine();
    InspectionContext context = InspectionContext.empty()
        .withTablesTouched(IntStream.rangeClosed(1, 50).mapToObj(i -> "public.t" + i).collect(Collectors.toSet()));
    try (Connection connection = db.connect()) {
      engine.inspect(connection, context); // warm up the JIT
    }
    long snapshotOnNewMs;
    long inspectionOnNewMs;
    try (Connection connection = db.connect()) {
      // What the coordinator sees: it opens a new connection per pre-flight, whose caches are cold.
      long start = System.nanoTime();
      CatalogSnapshot.read(connection);
      snapshotOnNewMs = (System.nanoTime() - start) / 1_000_000;
    }
    try (Connection connection = db.connect()) {
      inspectionOnNewMs = engine.inspect(connection, context).elapsedMs();
    }
    try (Connection connection = db.connect()) {
      engine.inspect(connection, context); // warm up this connection's catalog caches
      List<Long> snapshotMs = new ArrayList<>();
      List<Long> inspectionMs = new ArrayList<>();
      CatalogSnapshot snapshot = null;
      Inspection inspection = null;
      for (int run = 0; run < RUNS; run++) {
        long start = System.nanoTime();
        snapshot = CatalogSnapshot.read(connection);
        snapshotMs.add((System.nanoTime() - start) / 1_000_000);
        inspection = engine.inspect(connection, context);
        inspectionMs.add(inspection.elapsedMs());
      }

      assertThat(snapshot.tables()).hasSize(TABLES);
      assertThat(snapshot.sequences()).hasSize(TABLES);
      Map<String, Long> byRule = new TreeMap<>(inspection.findings().stream()
          .collect(Collectors.groupingBy(Finding::rule, Collectors.counting())));
      assertThat(byRule).containsEntry("missing-primary-key", (long) TABLES / 10)
          .containsEntry("sequence-behind", (long) TABLES / 100)
          .containsEntry("invalid-index", 10L);
      System.out.printf("BENCHMARK %d tables, %d columns, %d indexes, %d constraints, %d sequences%n", TABLES,
          snapshot.tables().stream().mapToInt(t -> t.columns().size()).sum(),
          snapshot.tables().stream().mapToInt(t -> t.indexes().size()).sum(),
          snapshot.tables().stream().mapToInt(t -> t.constraints().size()).sum(), snapshot.sequences().size());
      System.out.printf("BENCHMARK catalog snapshot: median %d ms (min %d, max %d) over %d runs%n",
          median(snapshotMs), Collections.min(snapshotMs), Collections.max(snapshotMs), RUNS);
      System.out.printf("BENCHMARK snapshot + all %d rules: median %d ms (min %d, max %d) over %d runs; findings %s%n",
          engine.rules().size(), median(inspectionMs), Collections.min(inspectionMs), Collections.max(inspectionMs),
          RUNS, byRule);
      System.out.printf("BENCHMARK on a new connection (cold server caches, as in a release): snapshot %d ms,"
          + " snapshot + all rules %d ms%n", snapshotOnNewMs, inspectionOnNewMs);
    }
  }

  private static long median(List<Long> values) {
    List<Long> sorted = values.stream().sorted().toList();
    return sorted.get(sorted.size() / 2);
  }
}
