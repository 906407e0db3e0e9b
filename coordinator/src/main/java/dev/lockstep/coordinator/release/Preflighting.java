package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.preflight.Preflight;
import dev.lockstep.coordinator.preflight.PreflightReport;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.AgentStatus;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.ReleaseRole;
import dev.lockstep.protocol.LockFootprint;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import java.sql.Connection;
import java.util.List;

/**
 * PREFLIGHT: the rules inspect, repairs are planned, repairs and migrations are rehearsed and rolled
 * back, the mode is chosen. Nothing changes and no server has been touched yet. Then PREPARING: the
 * live agents become the participants and are told to stage the new code, in the transaction that
 * enters the phase.
 */
public final class Preflighting implements PhaseStep {
  /** {@code -Dlockstep.coordinator.stepsAhead=false}: MIGRATING starts its tool itself (to compare; docs/reference.md). */
  private static final boolean STEPS_AHEAD = !"false".equals(System.getProperty("lockstep.coordinator.stepsAhead"));
  private final MigrationEngine migrations;
  private final Preflight preflight;
  private final Connections connections;
  private final AgentRegistry registry;
  private final WorkerExecutor worker;

  public Preflighting(MigrationEngine migrations, Preflight preflight, Connections connections, AgentRegistry registry,
                      WorkerExecutor worker) {
    this.migrations = migrations;
    this.preflight = preflight;
    this.connections = connections;
    this.registry = registry;
    this.worker = worker;
  }

  @Override
  public Future<ReleaseDocument> run(ReleaseDocument stored, Attempt attempt) {
    ReleaseJournal journal = attempt.journal();
    return journal.abortRequested()
        .compose(abort -> abort ? Future.failedFuture(LockstepException.aborted("aborted by the operator during PREFLIGHT"))
            : worker.executeBlocking(() -> {
              var plan = migrations.plan(attempt.set(), stored.schema());
              if (!plan.steps().isEmpty() && STEPS_AHEAD) {
                // MIGRATING's tool starts now (Alembic's Python), while the rehearsal and the fleet's prepare run.
                attempt.ahead(migrations.stepsAhead(attempt.set(), attempt.epoch()));
              }
              try (Connection c = connections.open("lockstep-preflight/" + stored.service())) {
                return preflight.run(c, attempt.set(), plan, stored.options());
              }
            }, true))
        .compose(report -> record(stored, report, journal))
        .compose(checked -> {
          attempt.checkStopping("after PREFLIGHT");
          return journal.abortRequested().compose(abort -> abort
              ? Future.failedFuture(LockstepException.aborted("aborted by the operator during PREFLIGHT"))
              : registry.list(checked.service()));
        })
        .compose(agents -> {
          ReleaseDocument checked = journal.stored();
          List<ReleaseAgent> participants = agents.stream()
              .filter(a -> a.state() != AgentState.LOST)
              .map(a -> participant(a, checked.revision()))
              .toList();
          return journal.tell(checked.toBuilder().phase(Phase.PREPARING).agents(participants).build(),
              "PREPARING: " + describe(participants, checked) + " (migrations digest "
                  + MigrationsDigest.shortForm(attempt.digest()) + ")", false);
        });
  }

  /**
   * How an agent takes part: in readiness mode it cannot change its code, so one already on the target is a new
   * instance (it prepares) and one on another revision retires; any other agent switches in place with its hooks.
   */
  private static ReleaseAgent participant(AgentStatus agent, String target) {
    if (!agent.readinessMode()) {
      return new ReleaseAgent(agent.id(), AgentState.PREPARING, null, null, null, ReleaseRole.IN_PLACE);
    }
    return target.equals(agent.revision())
        ? new ReleaseAgent(agent.id(), AgentState.PREPARING, null, null, null, ReleaseRole.NEW)
        : new ReleaseAgent(agent.id(), agent.state(), null, null, null, ReleaseRole.RETIRING);
  }

  private static String describe(List<ReleaseAgent> participants, ReleaseDocument doc) {
    List<String> prepare = participants.stream().filter(p -> p.role() != ReleaseRole.RETIRING).map(ReleaseAgent::id).toList();
    List<String> retiring = participants.stream().filter(p -> p.role() == ReleaseRole.RETIRING).map(ReleaseAgent::id).toList();
    String text = "asking " + prepare.size() + " agent(s) to prepare" + (prepare.isEmpty() ? "" : ": " + String.join(", ", prepare));
    if (!retiring.isEmpty()) {
      text += "; " + retiring.size() + " retiring instance(s) (" + String.join(", ", retiring) + ") turn un-ready "
          + (doc.mode() == Mode.MAINTENANCE ? "now, before the schema changes" : "at the switch");
    }
    Integer min = doc.options().minReady();
    if (min != null && min > 0) {
      text += "; waiting for at least " + min + " new instance(s) on " + doc.revision() + " (--min-ready)";
    }
    return text;
  }

  private static Future<ReleaseDocument> record(ReleaseDocument stored, PreflightReport report, ReleaseJournal journal) {
    ReleaseDocument checked = stored.toBuilder().findings(report.findings()).repairs(report.repairs())
        .mode(report.mode().mode()).modeReason(report.mode().reason()).locks(report.locks()).build();
    if (report.blocked()) {
      // Stored first, so the release shows the findings that stopped it.
      return journal.write(checked, null)
          .compose(v -> Future.failedFuture(LockstepException.aborted("pre-flight blocked: " + report.blockingReason())));
    }
    return journal.write(checked, "PREFLIGHT: " + report.findings().size() + " finding(s), " + report.repairs().size()
        + " repair(s) planned" + (report.repairs().isEmpty() ? "" : " (" + String.join("; ", report.repairs()) + ")")
        + "; rehearsal passed; mode " + report.mode().mode().wireName() + ": " + report.mode().reason()
        + blockingLocks(report));
  }

  /** "; the application will wait for: V2 (index orders) SHARE on public.orders (3.0 M rows, 260 MB), …", or "". */
  private static String blockingLocks(PreflightReport report) {
    List<String> locks = report.locks().stream().filter(LockFootprint::blocksApplication)
        .map(l -> l.migration() + " " + l.mode() + " on " + l.table() + " (" + l.size() + ")").toList();
    return locks.isEmpty() ? "" : "; the application will wait for: " + String.join(", ", locks);
  }
}
