package dev.lockstep.coordinator.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.Rehearsed;
import dev.lockstep.coordinator.migration.flyway.FlywayEngine;
import dev.lockstep.coordinator.migration.flyway.FlywayRehearsal;
import dev.lockstep.coordinator.migration.locks.StepAside;
import dev.lockstep.protocol.LockFootprint;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The rehearsal reads the whole catalog after a migration only when its one-round-trip probe says something old code
 * uses changed. These hold it to the findings of the rehearsal that reads the catalog after every migration, on a
 * chain whose breaking changes hide where no statement classifier looks — dynamic SQL in a DO block, a function
 * that existed before the release, a trigger the release adds — between migrations that change nothing old code uses,
 * and assert the hidden changes are found, with their drops counted and their locks listed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RehearsalProbeIT {
  private static final String EXISTING = """
      CREATE TABLE customers (id bigint PRIMARY KEY, name text, legacy text);
      CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, note text);
      CREATE TABLE audit (id bigserial PRIMARY KEY, what text);
      CREATE VIEW customer_names AS SELECT id, name FROM customers;
      CREATE FUNCTION retire_notes() RETURNS void LANGUAGE plpgsql AS $$
        BEGIN EXECUTE 'ALTER TABLE orders DROP COLUMN note'; END $$;
      CREATE FUNCTION audit_schema() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN EXECUTE 'ALTER TABLE audit ALTER COLUMN what SET NOT NULL'; RETURN NEW; END $$;
      INSERT INTO customers SELECT g, 'c' || g, 'l' || g FROM generate_series(1, 30) g;
      INSERT INTO orders SELECT g, g % 30 + 1, 'n' || g FROM generate_series(1, 40) g;
      INSERT INTO audit (what) SELECT 'a' || g FROM generate_series(1, 5) g;
      ANALYZE customers; ANALYZE orders; ANALYZE audit;
      """;

  /** File → SQL: additions old code cannot see, around changes no classifier could attribute by reading the SQL. */
  private static final Map<String, String> CHAIN = new TreeMap<>(Map.ofEntries(
      Map.entry("V2__fresh.sql", "CREATE TABLE fresh (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers (id));"),
      Map.entry("V3__dynamic_rename.sql", "DO $$ BEGIN EXECUTE 'ALTER TABLE customers RENAME COLUMN legacy TO legacy_old'; END $$;"),
      Map.entry("V4__fresh_rows.sql", "INSERT INTO fresh (customer_id) SELECT id FROM customers;"),
      Map.entry("V5__old_function.sql", "SELECT retire_notes();"),
      Map.entry("V6__fresh_index.sql", "CREATE INDEX fresh_customer ON fresh (customer_id);"),
      Map.entry("V7__fresh_view.sql", "CREATE VIEW fresh_ids AS SELECT id FROM fresh;"),
      Map.entry("V8__fresh_trigger.sql", "CREATE TRIGGER fresh_audit AFTER INSERT ON fresh FOR EACH STATEMENT"
          + " EXECUTE FUNCTION audit_schema();"),
      Map.entry("V9__fresh_more_rows.sql", "INSERT INTO fresh (customer_id) VALUES (1);"),
      Map.entry("V10__drop_fresh_view.sql", "DROP VIEW fresh_ids;"),
      Map.entry("V11__index_customers.sql", "CREATE INDEX customers_name ON customers (name);"),
      Map.entry("V12__check_orders.sql", "ALTER TABLE orders ADD CONSTRAINT orders_customer_positive CHECK (customer_id > 0);"),
      Map.entry("V13__fresh_comment.sql", "COMMENT ON TABLE fresh IS 'added by the release';"),
      Map.entry("V14__drop_legacy.sql", "ALTER TABLE customers DROP COLUMN legacy_old;")));

  private TestDatabase db;
  private DatabaseUrl url;
  private FlywayEngine engine;

  @BeforeAll
  void createSchema() throws Exception {
    db = TestPostgres.instance().createDatabase("RehearsalProbeIT");
    url = DatabaseUrl.parse(db.postgresUrl());
    db.execute(EXISTING);
    Path folder = Files.createTempDirectory("rehearsal-probe");
    for (var file : CHAIN.entrySet()) {
      Files.writeString(folder.resolve(file.getKey()), file.getValue());
    }
    engine = new FlywayEngine(url, folder, "probe", Duration.ofSeconds(5));
  }

  @AfterAll
  void dropDatabase() {
    db.close();
  }

  private Rehearsed rehearse(FlywayRehearsal rehearsal, RoundTrips trips) throws Exception {
    MigrationPlan plan = engine.plan(engine.folderSet(), null);
    try (Connection c = trips.wrap(db.connect())) {
      c.setAutoCommit(false);
      return rehearsal.run(c, plan, List.of());
    }
  }

  @Test
  void readingTheCatalogOnlyWhenTheProbeSeesAChangeFindsWhatReadingAfterEveryMigrationFinds() throws Exception {
    FlywayRehearsal probing = new FlywayRehearsal(url, Duration.ofSeconds(5), StepAside.DEFAULT);
    RoundTrips everyTrips = new RoundTrips();
    Rehearsed every = rehearse(probing.readingTheCatalogAfterEveryMigration(), everyTrips);
    RoundTrips probeTrips = new RoundTrips();
    Rehearsed probed = rehearse(probing, probeTrips);

    assertThat(probed.failure()).as("rehearsal failure").isNull();
    assertThat(probed.effects()).containsExactly(
        "V3 (dynamic rename) renames column public.customers.legacy to legacy_old",
        "V5 (old function) drops column public.orders.note",
        "V9 (fresh more rows) adds NOT NULL to public.audit.what",
        "V10 (drop fresh view) drops view public.fresh_ids",
        "V12 (check orders) adds check constraint orders_customer_positive on public.orders, which old code can violate",
        "V14 (drop legacy) drops column public.customers.legacy_old");
    // (legacy_old is counted by its name on the live database, where it is still called legacy: not counted, either way)
    assertThat(probed.dataLoss()).extracting(d -> d.object() + " " + d.count()).containsExactly("column public.orders.note 40");
    assertThat(probed.locks()).extracting(l -> l.migration() + " " + l.table() + " " + l.mode()).contains(
        "V2 (fresh) public.customers SHARE ROW EXCLUSIVE",
        "V3 (dynamic rename) public.customers ACCESS EXCLUSIVE",
        "V5 (old function) public.orders ACCESS EXCLUSIVE",
        "V9 (fresh more rows) public.audit ACCESS EXCLUSIVE");

    assertThat(probed.effects()).isEqualTo(every.effects());
    assertThat(probed.dataLoss()).isEqualTo(every.dataLoss());
    assertThat(probed.contractEffects()).isEqualTo(every.contractEffects());
    assertThat(probed.contractDataLoss()).isEqualTo(every.contractDataLoss());
    assertThat(probed.notRehearsed()).isEqualTo(every.notRehearsed());
    assertThat(probed.tablesLocked()).isEqualTo(every.tablesLocked());
    assertThat(probed.notes()).isEqualTo(every.notes());
    assertThat(untimed(probed.locks())).isEqualTo(untimed(every.locks()));

    // The catalog was read after the 7 migrations that changed what old code uses (V3, V5, V7 adding a view, V9, V10,
    // V12, V14), not after all 13; four queries per read.
    System.out.println("after every migration:\n" + everyTrips.report() + "probing:\n" + probeTrips.report());
    assertThat(everyTrips.count("catalog") - probeTrips.count("catalog")).isEqualTo(4L * (13 - 7));
  }

  /** The footprints without the times, which differ between two runs. */
  private static List<String> untimed(List<LockFootprint> locks) {
    return locks.stream().map(l -> l.migration() + " " + l.table() + " " + l.mode() + (l.rows() == null ? "" : " rows "
        + l.rows()) + (l.cutShort() ? " cut short" : "") + (l.hint() == null ? "" : " hint " + l.hint())).toList();
  }
}
