package dev.lockstep.coordinator.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.migration.flyway.FlywayEngine;
import dev.lockstep.coordinator.migration.flyway.FlywayRehearsal;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.LockstepSchema;
import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.LockFootprint;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.ReleaseOptions;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.InspectionContext;
import dev.lockstep.rules.RuleEngine;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The lock footprint against a real PostgreSQL and a table big enough for its locks to matter (1 million rows, about
 * 90 MB; {@code -Dlockfootprint.rows=N} to change it): each migration's locks are reported with the right mode, table,
 * size and hint; and while an application writes to the table, the rehearsal steps aside instead of stalling it, so
 * that across {@code check}, PREFLIGHT and MIGRATING the writer stalls long exactly once, when the index is really
 * built. The stalls are compared with each other, not with a fixed threshold the migration could also miss on a fast
 * machine: the real build's stall is at least twice either rehearsal's longest.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LockFootprintIT {
  private static final long ROWS = Long.getLong("lockfootprint.rows", 1_000_000L);
  private static final String V1 = """
      CREATE TABLE customers (id bigint PRIMARY KEY, name text, legacy text);
      CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, total numeric(12,2) NOT NULL, note text);
      """;

  private TestDatabase db;
  private DatabaseUrl url;
  private Connections connections;

  @BeforeAll
  void createBigTable() throws Exception {
    db = TestPostgres.instance().createDatabase("LockFootprintIT");
    url = DatabaseUrl.parse(db.postgresUrl());
    connections = new Connections(url);
    try (Connection c = connections.open("setup")) {
      LockstepSchema.ensure(c);
    }
    db.execute("INSERT INTO lockstep.fence (service, epoch) VALUES ('locks', 0)");
    FlywayEngine engine = engine(Map.of());
    engine.migrate(engine.folderSet(), "1", 0);
    db.execute("INSERT INTO customers SELECT g, 'customer ' || g, 'legacy ' || g FROM generate_series(1, 1000) g");
    db.execute("INSERT INTO orders (customer_id, total, note) SELECT 1 + g % 1000, (g % 1000) / 10.0, 'order ' || g"
        + " FROM generate_series(1, " + ROWS + ") g");
    db.execute("ANALYZE customers");
    db.execute("ANALYZE orders");
  }

  @AfterAll
  void dropDatabase() {
    db.close();
  }

  /** An engine over a fresh folder holding V1 and {@code more}. */
  private FlywayEngine engine(Map<String, String> more) throws Exception {
    Path folder = Files.createTempDirectory("lockfootprint");
    Files.writeString(folder.resolve("V1__base.sql"), V1);
    for (var file : more.entrySet()) {
      Files.writeString(folder.resolve(file.getKey()), file.getValue());
    }
    return new FlywayEngine(url, folder, "locks", Duration.ofSeconds(5));
  }

  private PreflightReport check(FlywayEngine engine) throws Exception {
    Preflight preflight = new Preflight(new RuleEngine(List.of()), InspectionContext.empty(), engine);
    try (Connection c = connections.open("lockfootprint-check")) {
      return preflight.run(c, engine.folderSet(), engine.plan(engine.folderSet(), null), ReleaseOptions.defaults());
    }
  }

  private static LockFootprint lockOn(PreflightReport report, String table) {
    return report.locks().stream().filter(l -> l.table().equals(table)).findFirst()
        .orElseThrow(() -> new AssertionError("no lock on " + table + " in " + report.locks()));
  }

  private static List<Finding> findings(PreflightReport report, String rule) {
    return report.findings().stream().filter(f -> f.rule().equals(rule)).toList();
  }

  /**
   * A table that lost its primary key: the release restores it (repair {@code missing-primary-key}) before the
   * migrations, building a unique index under ACCESS EXCLUSIVE. That stall is announced as a migration's is.
   */
  @Test
  @Order(0)
  void aRepairsLockIsAnnouncedWithItsTableAndTime() throws Exception {
    db.execute("CREATE TABLE legacy_accounts (id bigint NOT NULL, name text)");
    db.execute("INSERT INTO legacy_accounts SELECT g, 'account ' || g FROM generate_series(1, 300000) g");
    db.execute("ANALYZE legacy_accounts");
    try {
      PreflightReport report = check(engine(Map.of("V2__notes.sql", "CREATE TABLE notes (id bigint PRIMARY KEY);")));

      assertThat(report.blocked()).as(report.blockingReason()).isFalse();
      assertThat(report.repairs()).singleElement().asString().contains("ADD PRIMARY KEY");
      LockFootprint lock = lockOn(report, "public.legacy_accounts");
      assertThat(lock.migration()).isEqualTo("repair: " + report.repairs().get(0));
      assertThat(lock.mode()).isEqualTo("ACCESS EXCLUSIVE");
      assertThat(lock.blocks()).containsExactlyInAnyOrder(LockFootprint.WRITES, LockFootprint.READS);
      assertThat(lock.rows()).isBetween(270_000L, 330_000L);
      assertThat(lock.migrationMs()).isPositive();
      assertThat(lock.heldMs()).isGreaterThanOrEqualTo(lock.migrationMs());
      assertThat(lock.cutShort()).isFalse();
      assertThat(lock.hint()).contains("before the release").contains("CREATE UNIQUE INDEX CONCURRENTLY");
      // Listed in the report whatever its time; a lock-footprint warning (200 ms or more) as for a migration's.
      assertThat(findings(report, "lock-footprint")).allSatisfy(f -> assertThat(lock.heldMs()).isGreaterThanOrEqualTo(200));
      System.out.println("repair: " + lock.describe());
    } finally {
      db.execute("DROP TABLE legacy_accounts");
    }
  }

  @Test
  @Order(1)
  void withNobodyWaitingTheWholeRehearsalRunsOnTheLiveDatabaseAndTimesTheLock() throws Exception {
    PreflightReport report = check(engine(Map.of("V2__index_orders.sql", "CREATE INDEX orders_customer ON orders (customer_id);")));

    assertThat(report.blocked()).as(report.blockingReason()).isFalse();
    LockFootprint lock = lockOn(report, "public.orders");
    assertThat(lock.migration()).isEqualTo("V2 (index orders)");
    assertThat(lock.mode()).isEqualTo("SHARE");
    assertThat(lock.blocks()).containsExactly(LockFootprint.WRITES);
    assertThat(lock.rows()).isBetween(ROWS * 9 / 10, ROWS * 11 / 10);
    assertThat(lock.bytes()).isGreaterThan(ROWS * 40);
    assertThat(lock.cutShort()).isFalse();
    assertThat(lock.migrationMs()).isPositive();
    assertThat(lock.heldMs()).isGreaterThanOrEqualTo(lock.migrationMs());
    assertThat(lock.hint()).contains("CREATE INDEX CONCURRENTLY");
    assertThat(findings(report, FlywayRehearsal.CLONE_RULE)).isEmpty();
    System.out.println("idle table: " + lock.describe());
  }

  @Test
  @Order(2)
  void accessExclusiveBlocksReadsAConstraintHintsNotValidAndANewTableIsNotListed() throws Exception {
    PreflightReport report = check(engine(Map.of("V2__more.sql", """
        ALTER TABLE customers ADD COLUMN email text;
        ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
        CREATE TABLE invoices (id bigint PRIMARY KEY, order_id bigint);
        CREATE INDEX invoices_order ON invoices (order_id);
        """)));

    assertThat(report.blocked()).as(report.blockingReason()).isFalse();
    LockFootprint customers = lockOn(report, "public.customers");
    assertThat(customers.mode()).isEqualTo("ACCESS EXCLUSIVE");
    assertThat(customers.blocks()).containsExactlyInAnyOrder(LockFootprint.WRITES, LockFootprint.READS);
    LockFootprint orders = lockOn(report, "public.orders");
    assertThat(orders.mode()).isEqualTo("SHARE ROW EXCLUSIVE");
    assertThat(orders.hint()).contains("NOT VALID");
    assertThat(report.locks()).noneMatch(l -> l.table().equals("public.invoices"));
    report.locks().forEach(l -> System.out.println("constraint: " + l.describe()));
  }

  /**
   * A writer keeps inserting into {@code orders} while a chain runs whose second migration indexes it: the rehearsal
   * steps aside in V3, rehearses V3 and V4 on a schema-only clone, and still says what V4 would drop (with the count,
   * from the live database), that V4 makes the release maintenance, and which lock V4 takes (untimed).
   */
  @Test
  @Order(3)
  void steppingAsideKeepsTheModeAndTheDataLossCounts() throws Exception {
    FlywayEngine engine = engine(Map.of(
        "V2__tags.sql", "CREATE TABLE tags (id bigint PRIMARY KEY, name text);",
        "V3__index_orders.sql", "CREATE INDEX orders_customer ON orders (customer_id);",
        "V4__drop_legacy.sql", "ALTER TABLE customers DROP COLUMN legacy;"));
    PreflightReport report;
    try (StallMeter writer = StallMeter.start(connections)) {
      writer.phase("check");
      report = check(engine);
    }

    assertThat(report.mode().mode()).isEqualTo(Mode.MAINTENANCE);
    assertThat(report.mode().reason()).contains("V4 (drop legacy) drops column public.customers.legacy");
    assertThat(findings(report, "data-loss")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Severity.BLOCK);
      assertThat(f.message()).contains("public.customers.legacy, which holds 1000 non-NULL value(s)");
    });
    LockFootprint index = lockOn(report, "public.orders");
    assertThat(index.migration()).isEqualTo("V3 (index orders)");
    assertThat(index.mode()).isEqualTo("SHARE");
    assertThat(index.cutShort()).isTrue();
    assertThat(index.heldMs()).isPositive();
    LockFootprint drop = lockOn(report, "public.customers");
    assertThat(drop.migration()).isEqualTo("V4 (drop legacy)");
    assertThat(drop.mode()).isEqualTo("ACCESS EXCLUSIVE");
    assertThat(drop.heldMs()).isNull();
    assertThat(drop.rows()).isEqualTo(1000);
    assertThat(report.locks()).hasSize(2);
    assertThat(findings(report, FlywayRehearsal.CLONE_RULE)).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Severity.WARN);
      assertThat(f.message()).contains("V3 (index orders), V4 (drop legacy) were rehearsed on a schema-only clone");
    });
  }

  /** A migration after the cut that would fail for a reason of the schema is still caught, on the clone. */
  @Test
  @Order(4)
  void aMigrationThatWouldFailAfterTheCutStillBlocks() throws Exception {
    FlywayEngine engine = engine(Map.of(
        "V2__index_orders.sql", "CREATE INDEX orders_customer ON orders (customer_id);",
        "V3__broken.sql", "ALTER TABLE orders RENAME COLUMN no_such_column TO other;"));
    PreflightReport report;
    try (StallMeter writer = StallMeter.start(connections)) {
      writer.phase("check");
      report = check(engine);
    }
    assertThat(report.blocked()).isTrue();
    assertThat(report.blockingReason()).contains("rehearsal on a schema-only clone: migration V3 (broken) would fail")
        .contains("no_such_column");
  }

  /**
   * The user's measurement, as a test: check, then the release's PREFLIGHT, then MIGRATING, with a writer inserting
   * all along. Only MIGRATING's real index build stalls it long; the two rehearsals announce the lock instead.
   */
  @Test
  @Order(5)
  void aLongLockIsAnnouncedByCheckAndPaidOnceByTheRelease() throws Exception {
    FlywayEngine engine = engine(Map.of("V2__index_orders.sql", "CREATE INDEX orders_customer ON orders (customer_id);"));
    PreflightReport checked;
    PreflightReport preflight;
    StallMeter.Summary stalls;
    try (StallMeter writer = StallMeter.start(connections)) {
      writer.phase("check");
      checked = check(engine);
      writer.phase("PREFLIGHT");
      preflight = check(engine);
      writer.phase("MIGRATING");
      engine.migrate(engine.folderSet(), "2", 0);
      writer.phase("after");
      Thread.sleep(200);
      stalls = writer.summary();
    }
    System.out.println("paid once: " + stalls);
    System.out.println("check said: " + lockOn(checked, "public.orders").describe());

    LockFootprint announced = lockOn(checked, "public.orders");
    assertThat(announced.mode()).isEqualTo("SHARE");
    assertThat(announced.hint()).contains("CONCURRENTLY");
    assertThat(findings(checked, "lock-footprint")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Severity.WARN);
      assertThat(f.object()).isEqualTo("public.orders");
    });
    assertThat(preflight.locks()).extracting(LockFootprint::table).contains("public.orders");
    // The real build stalls the writer for as long as it takes (0.3-0.9 s for 1 M rows here, by the machine's load);
    // each rehearsal steps aside for it well before that. Relative, so a fast machine does not fail it.
    long paid = stalls.longest("MIGRATING");
    assertThat(paid).as(stalls.toString()).isGreaterThanOrEqualTo(150);
    assertThat(stalls.longest("check")).as(stalls.toString()).isLessThan(paid / 2);
    assertThat(stalls.longest("PREFLIGHT")).as(stalls.toString()).isLessThan(paid / 2);
    assertThat(db.queryLong("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_customer'")).isEqualTo(1);
  }
}
