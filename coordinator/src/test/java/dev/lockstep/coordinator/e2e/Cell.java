package dev.lockstep.coordinator.e2e;

import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One cell of the fault matrix: a fault, the moment it strikes, the fleet it strikes, how the release
 * must end, and the script that runs it. {@link FaultMatrix} lists the cells; {@link CellRun} runs
 * one; {@link Invariants} judges every run the same way, whatever the cell.
 *
 * <pre>{@code Cell.of("kill -9 of the runner", "PREPARING")
 *     .expect(Phase.COMPLETED)
 *     .script(run -> { run.release(); run.awaitPhase(Phase.PREPARING); run.kill9Runner(); })}</pre>
 *
 * @param fault what goes wrong, in the words
 * @param when the phase (or moment) it goes wrong in
 * @param hazard the resume hazard the cell is there to catch, or null
 * @param shape the fleet, migrations and mode
 * @param outcomes the terminal phases the release may end in
 * @param script drives the release and injects the fault
 * @param checks what this cell expects beyond the shared invariants
 */
record Cell(String fault, String when, Hazard hazard, Shape shape, Set<Phase> outcomes, Script script, List<Check> checks) {

  static Cell of(String fault, String when) {
    return new Cell(fault, when, null, Shape.standard(), EnumSet.of(Phase.COMPLETED), run -> { }, List.of());
  }

  /** The cell's name in tests and the report: {@code fault @ when}, and the hazard it is there for. */
  String name() {
    return fault + " @ " + when + (hazard == null ? "" : " [hazard " + hazard.number + "]");
  }

  Cell hazard(Hazard h) {
    return new Cell(fault, when, h, shape, outcomes, script, checks);
  }

  Cell shape(Shape s) {
    return new Cell(fault, when, hazard, s, outcomes, script, checks);
  }

  Cell expect(Phase first, Phase... more) {
    return new Cell(fault, when, hazard, shape, EnumSet.of(first, more), script, checks);
  }

  Cell script(Script s) {
    return new Cell(fault, when, hazard, shape, outcomes, s, checks);
  }

  Cell check(Check c) {
    List<Check> all = new ArrayList<>(checks);
    all.add(c);
    return new Cell(fault, when, hazard, shape, outcomes, script, List.copyOf(all));
  }

  /** Drives one run: starts the release, waits for the moment, injects the fault. */
  @FunctionalInterface
  interface Script {
    void run(CellRun run) throws Exception;
  }

  /** A cell's own expectation; returns what it found wrong (empty when all is well). */
  @FunctionalInterface
  interface Check {
    List<String> violations(CellRun run);
  }

  /** The three ways a resumed run goes wrong that issue 7 is about; a cell that targets one names it. */
  enum Hazard {
    TERMINAL_REWALK("1", "a run resumes from the phase it read before waiting for the lock, with no guard against"
        + " terminal phases: it can win the lock after the release COMPLETED and walk it through its phases again"),
    SILENT_ABORT("2", "a release resumed at PREPARING never tells the fleet when it then aborts: maintenance agents"
        + " that stopped serving stay drained"),
    BLIND_RESUME("3", "a resumed non-atomic release does not know which steps the previous run committed: after a"
        + " failure it may send agents back to old code on a schema that moved");

    final String number;
    final String description;

    Hazard(String number, String description) {
      this.number = number;
      this.description = description;
    }
  }

  /**
   * The fleet a cell runs: how many coordinators start before the release and how many are only given a
   * port (started later by the script), the agents, the migration set and the requested mode, and which Redis the
   * coordinators use: the shared one, a server of the run's own (to restart it), or a Sentinel set of the run's own (to
   * fail its primary over).
   */
  record Shape(int coordinators, int late, List<AgentShape> agents, Migrations migrations, Mode mode, RedisForm redis,
               boolean rehearsalSleeps) {
    /** Primary and standby, two agents (one slow: 1 s hooks), the standard set, mode decided by the coordinator. */
    static Shape standard() {
      return new Shape(2, 0, List.of(new AgentShape("a-1", 0, 0), new AgentShape("a-2", 1, 1)),
          Migrations.STANDARD, null, RedisForm.SHARED, false);
    }

    Shape(int coordinators, int late, List<AgentShape> agents, Migrations migrations, Mode mode, RedisForm redis) {
      this(coordinators, late, agents, migrations, mode, redis, false);
    }

    /**
     * The slow statement sleeps in PREFLIGHT's rehearsal too, for cells that strike there; elsewhere it sleeps only on
     * the migration connection, so a run does not wait for it twice.
     */
    Shape slowRehearsal() {
      return new Shape(coordinators, late, agents, migrations, mode, redis, true);
    }

    Shape coordinators(int started, int startedLater) {
      return new Shape(started, startedLater, agents, migrations, mode, redis, rehearsalSleeps);
    }

    Shape agents(AgentShape... shapes) {
      return new Shape(coordinators, late, List.of(shapes), migrations, mode, redis, rehearsalSleeps);
    }

    Shape migrations(Migrations m) {
      return new Shape(coordinators, late, agents, m, mode, redis, rehearsalSleeps);
    }

    Shape mode(Mode m) {
      return new Shape(coordinators, late, agents, migrations, m, redis, rehearsalSleeps);
    }

    Shape withOwnRedis() {
      return new Shape(coordinators, late, agents, migrations, mode, RedisForm.OWN_SERVER, rehearsalSleeps);
    }

    /** Coordinators on a {@code redis-sentinel://} URL of a primary, a replica and three sentinels of the run's own. */
    Shape onSentinel() {
      return new Shape(coordinators, late, agents, migrations, mode, RedisForm.SENTINEL, rehearsalSleeps);
    }
  }

  /** The Redis a cell's coordinators use. */
  enum RedisForm { SHARED, OWN_SERVER, SENTINEL }

  /** An agent of the fleet: its id and how many seconds its prepare and switch hooks take. */
  record AgentShape(String id, double prepareSeconds, double switchSeconds) {}

  /** Revision every agent starts on, and the one every release moves to. */
  static final String OLD_REVISION = "v0";
  static final String NEW_REVISION = "v1";

  /**
   * The migration sets of the matrix, each file with the catalog objects it creates, so the checker can
   * tell a migration applied whole from one applied in part. The slow statement sits between two changes,
   * so a migration cut in the middle would show as half there if it were not atomic.
   */
  enum Migrations {
    /** V1 a table, V2 slow (pg_sleep; see {@link Shape#slowRehearsal}) with a table, an index and a column: online. */
    STANDARD,
    /**
     * Issue 7's non-atomic sequence: V1 a table, V2 a column (ordinary), V3 {@code CREATE INDEX CONCURRENTLY}
     * outside a transaction ({@code V3__index_email.sql.conf}), V4 slow and then failing for real (the index
     * is not unique). Not rehearsed past V3, so the coordinator picks maintenance mode by itself.
     */
    NON_ATOMIC,
    /**
     * Issue 19's contract: the database starts at V1 (applied before the fleet starts, so the release has old code to
     * wait for), V2 adds a column, {@code contract/V3} adds a marker column, then is slow, then drops a column: cut in
     * the middle, it would show as half there if the contract were not one transaction.
     */
    CONTRACT;

    /** The slow statement's length: long enough to strike in, short enough for a CI run of every cell. */
    static final double SLOW_SECONDS = 1.5;

    /**
     * File name → content. {@code slowRehearsal}: the slow statement also sleeps in the rehearsal; else only on the
     * migration connection ({@code lockstep-migrate/…}), the one the faults of MIGRATING and CONTRACTING strike.
     */
    Map<String, String> files(boolean slowRehearsal) {
      String slow = slowRehearsal ? "SELECT pg_sleep(" + SLOW_SECONDS + ");\n"
          : "SELECT pg_sleep(CASE WHEN current_setting('application_name') LIKE 'lockstep-migrate/%' THEN " + SLOW_SECONDS
              + " ELSE 0 END);\n";
      Map<String, String> files = new LinkedHashMap<>();
      if (this == CONTRACT) {
        files.put("V1__accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, nickname text);\n"
            + "INSERT INTO accounts (id, email, nickname) VALUES (1, 'ada@example.com', 'ada'), (2, 'grace@example.com', 'g');\n");
        files.put("V2__plan.sql", "ALTER TABLE accounts ADD COLUMN plan text;\n");
        files.put("contract/V3__drop_nickname.sql", "ALTER TABLE accounts ADD COLUMN contract_marker int;\n"
            + "-- cut here by the faults of CONTRACTING\n"
            + slow
            + "ALTER TABLE accounts DROP COLUMN nickname;\n");
        return files;
      }
      files.put("V1__accounts.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n"
          + "INSERT INTO accounts (id, email) VALUES (1, 'ada@example.com'), (2, 'grace@example.com');\n");
      if (this == STANDARD) {
        files.put("V2__orders.sql", "CREATE TABLE orders (id bigint PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id));\n"
            + "-- a long data migration, cut here by the faults of MIGRATING\n"
            + slow
            + "CREATE INDEX orders_account ON orders (account_id);\n"
            + "ALTER TABLE accounts ADD COLUMN plan text;\n");
      } else {
        files.put("V2__plan.sql", "ALTER TABLE accounts ADD COLUMN plan text;\n");
        files.put("V3__index_email.sql", "CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);\n");
        files.put("V3__index_email.sql.conf", "executeInTransaction=false\n");
        files.put("V4__unique_email.sql", slow
            + "-- fails for real: accounts_email is not a unique index\n"
            + "ALTER TABLE accounts ADD CONSTRAINT accounts_email_key UNIQUE USING INDEX accounts_email;\n");
      }
      return files;
    }

    /** Version → queries that each return 1 when one of its effects is present, 0 when absent. */
    Map<String, List<String>> effects() {
      Map<String, List<String>> effects = new LinkedHashMap<>();
      effects.put("1", List.of(table("accounts")));
      if (this == CONTRACT) {
        effects.put("2", List.of(column("accounts", "plan")));
        effects.put("3", List.of(column("accounts", "contract_marker"), "SELECT 1 - count(*) FROM information_schema.columns"
            + " WHERE table_schema = 'public' AND table_name = 'accounts' AND column_name = 'nickname'"));
        return effects;
      }
      if (this == STANDARD) {
        effects.put("2", List.of(table("orders"), index("orders_account"), column("accounts", "plan")));
      } else {
        effects.put("2", List.of(column("accounts", "plan")));
        effects.put("3", List.of(index("accounts_email")));
        effects.put("4", List.of("SELECT count(*) FROM pg_constraint WHERE conname = 'accounts_email_key'"));
      }
      return effects;
    }

    /** The newest version of the set: where a completed release leaves the schema. */
    String target() {
      return switch (this) {
        case STANDARD -> "2";
        case NON_ATOMIC -> "4";
        case CONTRACT -> "3";
      };
    }

    /** The version the database is at before the release: null for the empty schema. */
    String startsAt() {
      return this == CONTRACT ? "1" : null;
    }

    private static String table(String name) {
      return "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = '" + name + "'";
    }

    private static String index(String name) {
      return "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname = '" + name + "'";
    }

    private static String column(String table, String column) {
      return "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '" + table
          + "' AND column_name = '" + column + "'";
    }
  }
}
