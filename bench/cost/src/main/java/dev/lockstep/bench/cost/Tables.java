package dev.lockstep.bench.cost;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/** The human tables: the comparison, where a release's time goes, the status quo. */
final class Tables {
  private Tables() {}

  @SuppressWarnings("unchecked")
  static void print(PrintStream out, List<Map<String, Object>> comparisons, List<Map<String, Object>> statusQuo) {
    if (!comparisons.isEmpty()) {
      out.println("\n## Plain tool vs a Lockstep release, one agent (median, min–max over repetitions; fresh database each)\n");
      out.println("| chain | migrations | plain tool | of which: JVM start, Flyway migrate() / one alembic process | Lockstep `release` (coordinator running) | incl. coordinator + agent start | overhead (release − plain) | target 1 s + 5 % (Flyway) / 1.5 s + 5 % (Alembic) |");
      out.println("|---|---|---|---|---|---|---|---|");
      for (Map<String, Object> c : comparisons) {
        Map<String, Stats> s = (Map<String, Stats>) c.get("stats");
        boolean flyway = "flyway".equals(c.get("tool"));
        long plain = s.get("plainTotalMs").median();
        long release = s.get("releaseMs").median();
        long target = (flyway ? 1000 : 1500) + plain * 5 / 100;
        long overhead = release - plain;
        out.printf("| %s | %s | %s | %s | %s | %s | %s | ≤ %s: %s |%n", c.get("chain"), c.get("migrations"),
            s.get("plainTotalMs").seconds(), flyway ? "JVM to main " + s.get("plainJvmStartMs").seconds() + "; migrate() "
                + s.get("plainMigrateMs").seconds() : "one `alembic heads`: " + s.get("alembicHeadsMs").seconds(),
            s.get("releaseMs").seconds(), s.get("includingStartMs").seconds(), Stats.s(overhead), Stats.s(target),
            overhead <= target ? "met" : "missed by " + Stats.s(overhead - target));
      }
      out.println("\n## Where a Lockstep release's time goes (medians, ms)\n");
      StringBuilder header = new StringBuilder("| segment |");
      StringBuilder rule = new StringBuilder("|---|");
      for (Map<String, Object> c : comparisons) {
        header.append(' ').append(c.get("chain")).append(" |");
        rule.append("---|");
      }
      out.println(header);
      out.println(rule);
      String[][] rows = {
          {"CLI spawn → release recorded (JVM, POST, set stored)", "cliToRequestMs"},
          {"  of which the CLI JVM (`release --help`, measured apart)", "cliJvmHelpMs"},
          {"  of which the POST (≈ the rest)", "postMs"},
          {"PLANNED (lock, fence, plan)", "phasePLANNEDMs"},
          {"PREFLIGHT (rules, rehearsal / clone)", "phasePREFLIGHTMs"},
          {"PREPARING (agent's prepare hook, ack)", "phasePREPARINGMs"},
          {"MIGRATING", "phaseMIGRATINGMs"},
          {"  of which the migrations themselves (applied executionMs)", "migrationsExecutionMs"},
          {"  of which around them (MIGRATING − executionMs)", "migratingOverheadMs"},
          {"SWITCHING", "phaseSWITCHINGMs"},
          {"CONTRACTING", "phaseCONTRACTINGMs"},
          {"COMPLETED → CLI exited", "completedToCliExitMs"},
          {"= release command (wall)", "releaseMs"},
          {"plain tool (wall)", "plainTotalMs"},
          {"= overhead (release − plain, this run)", "overheadMs"},
          {"for scale: coordinator start → /health", "coordinatorStartMs"},
          {"for scale: agent start → registered", "agentRegisteredMs"},
          {"alembic runs, coordinator start included (count)", "alembicRuns"},
          {"alembic runs, summed wall (coordinator start included)", "alembicRunsMs"},
          {"  at coordinator start (count)", "alembicRunsCoordinatorStart"},
          {"  at coordinator start (ms)", "alembicRunsCoordinatorStartMs"},
          {"  while the request is handled (count)", "alembicRunsREQUEST"},
          {"  while the request is handled (ms)", "alembicRunsREQUESTMs"},
          {"  in PLANNED (count)", "alembicRunsPLANNED"},
          {"  in PLANNED (ms)", "alembicRunsPLANNEDMs"},
          {"  in PREFLIGHT (count)", "alembicRunsPREFLIGHT"},
          {"  in PREFLIGHT (ms)", "alembicRunsPREFLIGHTMs"},
          {"  in MIGRATING (count)", "alembicRunsMIGRATING"},
          {"  in MIGRATING (ms)", "alembicRunsMIGRATINGMs"},
          {"  `alembic current` runs (count)", "alembicCommand_current"},
          {"  `alembic current` runs (ms)", "alembicCommand_currentMs"},
          {"  `alembic history` runs (count)", "alembicCommand_history"},
          {"  `alembic history` runs (ms)", "alembicCommand_historyMs"},
          {"  `alembic stamp` runs (count)", "alembicCommand_stamp"},
          {"  `alembic stamp` runs (ms)", "alembicCommand_stampMs"},
          {"  `alembic upgrade` runs (count)", "alembicCommand_upgrade"},
          {"  `alembic upgrade` runs (ms)", "alembicCommand_upgradeMs"},
          {"pg_dump / psql runs in PREFLIGHT (the schema-only clone, count)", "pgToolRunsPREFLIGHT"},
          {"pg_dump / psql runs in PREFLIGHT (ms)", "pgToolRunsPREFLIGHTMs"},
          {"python3 runs besides alembic (the Alembic driver, revision modules; count)", "pythonRuns"},
          {"python3 runs besides alembic (ms)", "pythonRunsMs"},
          {"  while the request is handled (count)", "pythonRunsREQUEST"},
          {"  while the request is handled (ms)", "pythonRunsREQUESTMs"},
          {"  in PLANNED (count)", "pythonRunsPLANNED"},
          {"  in PLANNED (ms)", "pythonRunsPLANNEDMs"},
          {"  in PREFLIGHT (count)", "pythonRunsPREFLIGHT"},
          {"  in PREFLIGHT (ms)", "pythonRunsPREFLIGHTMs"},
          {"  in MIGRATING (count)", "pythonRunsMIGRATING"},
          {"  in MIGRATING (ms)", "pythonRunsMIGRATINGMs"},
          {"  in CONTRACTING (count)", "pythonRunsCONTRACTING"},
          {"  in CONTRACTING (ms)", "pythonRunsCONTRACTINGMs"},
          {"one `alembic heads` process (plain)", "alembicHeadsMs"},
          {"hook processes run", "hookRuns"},
      };
      for (String[] row : rows) {
        StringBuilder line = new StringBuilder("| " + row[0] + " |");
        boolean any = false;
        for (Map<String, Object> c : comparisons) {
          Stats st = ((Map<String, Stats>) c.get("stats")).get(row[1]);
          any |= st != null;
          line.append(' ').append(st == null ? "-" : row[1].endsWith("Ms") ? st.median() + " (" + st.min() + "–" + st.max() + ")"
              : st.count()).append(" |");
        }
        if (any) {
          out.println(line);
        }
      }
      for (Map<String, Object> c : comparisons) {
        out.println("\nEvents of the last " + c.get("chain") + " release (ms after the request):");
        ((List<String>) c.get("lastReleaseEvents")).forEach(l -> out.println("  " + l));
      }
    }
    for (Map<String, Object> q : statusQuo) {
      StatusQuo.print(out, q);
    }
  }
}
