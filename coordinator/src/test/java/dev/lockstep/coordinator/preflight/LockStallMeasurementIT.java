package dev.lockstep.coordinator.preflight;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.Rehearsed;
import dev.lockstep.coordinator.migration.ScratchClone;
import dev.lockstep.coordinator.migration.flyway.FlywayEngine;
import dev.lockstep.coordinator.migration.flyway.FlywayRehearsal;
import dev.lockstep.coordinator.migration.locks.StepAside;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.LockstepSchema;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The figures behind the choice in docs/reliability.md ("A long lock is paid once"), not a test: off unless
 * {@code -Dlockfootprint.measure=true}. On a table of {@code -Dlockfootprint.rows} rows (default 3 million) with a
 * writer inserting all along, it measures the writer's longest stall for each way to rehearse {@code CREATE INDEX}: on
 * the live database holding on (before this change), stepping aside ({@link StepAside#DEFAULT}), on a schema-only
 * clone always; and for the real migration. Each is run {@code -Dlockfootprint.repeat} times (default 3).
 *
 * <pre>mvn -B -o verify -pl coordinator -am -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false
 *   -Dit.test=LockStallMeasurementIT -Dfailsafe.failIfNoSpecifiedTests=false -Dlockfootprint.measure=true</pre>
 */
class LockStallMeasurementIT {
  private static final long ROWS = Long.getLong("lockfootprint.rows", 3_000_000L);
  private static final int REPEAT = Integer.getInteger("lockfootprint.repeat", 3);

  @Test
  void measure() throws Exception {
    assumeTrue(Boolean.getBoolean("lockfootprint.measure"), "a measurement: -Dlockfootprint.measure=true");
    try (TestDatabase db = TestPostgres.instance().createDatabase("LockStallMeasurement")) {
      DatabaseUrl url = DatabaseUrl.parse(db.postgresUrl());
      Connections connections = new Connections(url);
      try (Connection c = connections.open("setup")) {
        LockstepSchema.ensure(c);
      }
      db.execute("INSERT INTO lockstep.fence (service, epoch) VALUES ('measure', 0)");
      Path folder = Files.createTempDirectory("lockstall");
      Files.writeString(folder.resolve("V1__base.sql"), "CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint"
          + " NOT NULL, total numeric(12,2) NOT NULL, note text);");
      FlywayEngine engine = new FlywayEngine(url, folder, "measure", Duration.ofSeconds(10));
      engine.migrate(engine.folderSet(), "1", 0);
      long built = System.nanoTime();
      db.execute("INSERT INTO orders (customer_id, total, note) SELECT g % 50000, (g % 1000) / 10.0, 'order ' || g"
          + " FROM generate_series(1, " + ROWS + ") g");
      db.execute("ANALYZE orders");
      System.out.printf("table: %d rows, %s, built in %d ms%n", ROWS,
          db.queryText("SELECT pg_size_pretty(pg_total_relation_size('orders'))"), (System.nanoTime() - built) / 1_000_000);
      Files.writeString(folder.resolve("V2__index_orders.sql"), "CREATE INDEX orders_customer ON orders (customer_id);");
      MigrationPlan plan = engine.plan(engine.folderSet(), null);

      for (int i = 1; i <= REPEAT; i++) {
        live("live, holding on (before)", connections, url, plan, StepAside.NEVER);
        live("live, stepping aside after 50 ms", connections, url, plan, StepAside.DEFAULT);
        try (StallMeter writer = StallMeter.start(connections)) {
          writer.phase("clone");
          long started = System.nanoTime();
          try (ScratchClone clone = ScratchClone.create(url, "measurement");
              Connection c = new Connections(clone.url()).open("measure")) {
            c.setAutoCommit(false);
            new FlywayRehearsal(null, Duration.ofSeconds(10), StepAside.NEVER).run(c, plan, List.of());
          }
          long took = (System.nanoTime() - started) / 1_000_000;
          System.out.printf("%d. clone always: rehearsal %d ms; writer %s%n", i, took, writer.summary());
        }
      }
      try (StallMeter writer = StallMeter.start(connections)) {
        writer.phase("migrate");
        long started = System.nanoTime();
        engine.migrate(engine.folderSet(), "2", 0);
        long took = (System.nanoTime() - started) / 1_000_000;
        System.out.printf("the real migration: %d ms; writer %s%n", took, writer.summary());
      }
    }
  }

  private static void live(String what, Connections connections, DatabaseUrl url, MigrationPlan plan, StepAside policy)
      throws Exception {
    try (StallMeter writer = StallMeter.start(connections); Connection c = connections.open("measure")) {
      writer.phase("rehearsal");
      Thread.sleep(100);
      c.setAutoCommit(false);
      long started = System.nanoTime();
      Rehearsed r = new FlywayRehearsal(url, Duration.ofSeconds(10), policy).run(c, plan, List.of());
      long took = (System.nanoTime() - started) / 1_000_000;
      Thread.sleep(100);
      System.out.printf("%s: rehearsal %d ms; writer %s; %s%n", what, took, writer.summary(),
          r.locks().isEmpty() ? "no locks" : r.locks().get(0).describe());
    }
  }
}
