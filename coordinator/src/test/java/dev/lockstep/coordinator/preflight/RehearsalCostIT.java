package dev.lockstep.coordinator.preflight;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.migration.flyway.FlywayEngine;
import dev.lockstep.coordinator.store.LockstepSchema;
import dev.lockstep.protocol.ReleaseOptions;
import dev.lockstep.rules.InspectionContext;
import dev.lockstep.rules.RuleEngine;
import dev.lockstep.testkit.TestCorpus;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What PREFLIGHT and MIGRATING cost in round trips to PostgreSQL, on the two Flyway chains the cost bench releases (a
 * generated 200-migration chain and ReportPortal's 132): counted, so the figures do not depend on the machine's load,
 * and held to what issue 20's cuts left (a probe per migration, a fixed number of catalog reads, one fence check per
 * transaction). Prints the counts and times; {@code -Dcost.logStatements=true} also logs the MIGRATING statements of
 * its databases in PostgreSQL's server log.
 */
class RehearsalCostIT {

  @Test
  void generatedChain() throws Exception {
    Path folder = Files.createTempDirectory("rehearsal-cost");
    GeneratedChain.write(folder, 200);
    measure("generated-200", folder);
  }

  @Test
  void reportPortal() throws Exception {
    Path folder = TestCorpus.copy("reportportal", Files.createTempDirectory("rehearsal-cost").resolve("rp"));
    // V40 commits inside a procedure: marked as the cost bench marks it, so it runs in a step of its own.
    Files.writeString(folder.resolve("V40__attachment_creation_date_fill.sql.conf"), "executeInTransaction=false\n");
    measure("reportportal", folder);
  }

  /** Not a test of the rehearsal: what planning and MIGRATING cost around the migrations, printed. */
  @Test
  void migrating() throws Exception {
    Path generated = Files.createTempDirectory("migrate-cost");
    GeneratedChain.write(generated, 200);
    migrate("generated-200", generated);
    Path folder = TestCorpus.copy("reportportal", Files.createTempDirectory("migrate-cost").resolve("rp"));
    Files.writeString(folder.resolve("V40__attachment_creation_date_fill.sql.conf"), "executeInTransaction=false\n");
    migrate("reportportal", folder);
  }

  private static void migrate(String name, Path folder) throws Exception {
    try (TestDatabase db = TestPostgres.instance().createDatabase("RehearsalCostIT")) {
      DatabaseUrl url = DatabaseUrl.parse(db.postgresUrl());
      try (Connection c = db.connect()) {
        LockstepSchema.ensure(c);
      }
      db.execute("INSERT INTO lockstep.fence (service, epoch) VALUES ('cost', 0)");
      FlywayEngine engine = new FlywayEngine(url, folder, "cost", Duration.ofSeconds(5));
      if (Boolean.getBoolean("cost.logStatements")) {
        db.execute("ALTER DATABASE \"" + db.name() + "\" SET log_statement = 'all'");
        System.out.println("logging statements of database " + db.name());
      }
      db.execute("ALTER DATABASE \"" + db.name() + "\" SET track_functions = 'pl'");
      long t0 = System.nanoTime();
      var set = engine.folderSet();
      long t1 = System.nanoTime();
      var plan = engine.plan(set, null);
      long t2 = System.nanoTime();
      var stored = set.from("the set of release x");
      engine.accept(stored);
      long t3 = System.nanoTime();
      var again = engine.plan(stored, null);
      long t4 = System.nanoTime();
      long executionMs = 0;
      for (var step : again.steps()) {
        executionMs += engine.migrate(stored, step, 0).stream().mapToLong(a -> a.executionMs()).sum();
      }
      long t5 = System.nanoTime();
      // One fence check per transaction: Flyway's connections have closed, so their function counts reach the stats.
      long transactions = again.steps().stream().filter(step -> step.transactional()).count();
      long outside = again.steps().stream().filter(step -> !step.transactional()).mapToLong(step -> step.migrations().size()).sum();
      assertThat(fenceChecks(db, transactions + outside)).isEqualTo(transactions + outside);
      System.out.println(name + ": folderSet " + ms(t1 - t0) + " ms, plan " + ms(t2 - t1) + " ms, accept as stored "
          + ms(t3 - t2) + " ms, plan again " + ms(t4 - t3) + " ms, migrate " + again.steps().size() + " step(s) " + ms(t5 - t4)
          + " ms of which executionMs " + executionMs);
    }
  }

  /** Calls of lockstep.check_epoch counted by PostgreSQL, waiting (up to 10 s) until {@code expected} have arrived. */
  private static long fenceChecks(TestDatabase db, long expected) throws InterruptedException {
    long calls = 0;
    for (int i = 0; i < 100; i++) {
      calls = db.queryLong("SELECT coalesce(sum(calls), 0) FROM (SELECT pg_stat_clear_snapshot()) s,"
          + " pg_stat_user_functions f WHERE f.schemaname = 'lockstep' AND f.funcname = 'check_epoch'");
      if (calls >= expected) {
        Thread.sleep(200); // a few more would have arrived by now
        return db.queryLong("SELECT coalesce(sum(calls), 0) FROM (SELECT pg_stat_clear_snapshot()) s,"
            + " pg_stat_user_functions f WHERE f.schemaname = 'lockstep' AND f.funcname = 'check_epoch'");
      }
      Thread.sleep(100);
    }
    return calls;
  }

  private static long ms(long nanos) {
    return nanos / 1_000_000;
  }

  private static PreflightReport measure(String name, Path folder) throws Exception {
    try (TestDatabase db = TestPostgres.instance().createDatabase("RehearsalCostIT")) {
      DatabaseUrl url = DatabaseUrl.parse(db.postgresUrl());
      try (Connection c = db.connect()) {
        LockstepSchema.ensure(c);
      }
      FlywayEngine engine = new FlywayEngine(url, folder, "cost", Duration.ofSeconds(5));
      Preflight preflight = new Preflight(new RuleEngine(List.of()), InspectionContext.empty(), engine);
      RoundTrips trips = new RoundTrips();
      var set = engine.folderSet();
      var plan = engine.plan(set, null);
      long started = System.nanoTime();
      PreflightReport report;
      try (Connection c = trips.wrap(db.connect())) {
        report = preflight.run(c, set, plan, ReleaseOptions.defaults());
      }
      long ms = (System.nanoTime() - started) / 1_000_000;
      System.out.println(name + ": " + plan.pending().size() + " migrations, preflight " + ms + " ms, mode "
          + report.mode().mode() + "\n" + trips.report());
      assertThat(report.rehearsed()).isTrue();
      // The catalog is read a fixed number of times (the rules' snapshot, the baseline, the data-loss and lock checks),
      // not once per migration: these chains only add, so no migration changes what old code uses.
      assertThat(trips.count("catalog")).as(trips.report()).isLessThanOrEqualTo(25);
      assertThat(trips.count("probe (txid, digest, locks)")).as(trips.report())
          .isLessThanOrEqualTo(plan.pending().size() + 1L);
      assertThat(trips.count("txid_current") + trips.count("pg_locks (own)")).as(trips.report()).isLessThanOrEqualTo(2);
      return report;
    }
  }
}
