package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.protocol.Finding;
import dev.lockstep.rules.Inspection;
import dev.lockstep.rules.InspectionContext;
import dev.lockstep.rules.RuleEngine;
import dev.lockstep.rules.Repairs;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The repairs at the start of MIGRATING: planned again on the live database, made, audited. Blocks;
 * the run calls it on the worker executor.
 *
 * <pre>{@code List<String> made = repairs.apply("app", releaseId, epoch, "3");}</pre>
 */
public final class RepairStep {
  private final Connections connections;
  private final RuleEngine rules;
  private final InspectionContext context;
  private final Duration lockTimeout;
  private final ReleaseMetrics metrics;

  public RepairStep(Connections connections, RuleEngine rules, InspectionContext context, Duration lockTimeout,
                    ReleaseMetrics metrics) {
    this.metrics = metrics;
    this.connections = connections;
    this.rules = rules;
    this.context = context;
    this.lockTimeout = lockTimeout;
  }

  /**
   * Re-inspects (the database may have changed since PREFLIGHT, and a resumed run must not repeat a
   * repair), then applies what is planned: first the repairs that cannot run in a transaction
   * (rebuilding an invalid index concurrently), then the others in one fenced transaction, planned
   * once more inside it. Each statement is audited in {@code lockstep.repairs}. With nothing to
   * repair, the catalog is read once.
   *
   * @param fromSchema the schema version before the release, for messages
   */
  List<String> apply(String service, String releaseId, long epoch, String fromSchema) throws SQLException {
    List<String> executed = new ArrayList<>();
    try (Connection c = connections.open("lockstep-repair/" + service)) {
      try (Statement s = c.createStatement()) {
        s.execute("SET lock_timeout = '" + lockTimeout.toMillis() + "ms'");
      }
      List<Finding> planned = planned(rules.inspect(c, context));
      if (planned.isEmpty()) {
        // Nothing to repair, nothing blocking, a moment ago: reading the catalog again in a transaction guards against
        // nothing this read does not (a change just after either is as possible); the migrations check the fence.
        return executed;
      }
      List<Finding> outside = Repairs.outsideTransaction(planned);
      if (!outside.isEmpty()) {
        Fence.checkEpoch(c, service, epoch);
        executed.addAll(repair(() -> rules.applyOutsideTransaction(c, outside), fromSchema));
        audit(c, releaseId, outside);
      }
      c.setAutoCommit(false);
      try {
        Fence.checkEpoch(c, service, epoch);
        List<Finding> inside = Repairs.inTransaction(planned(rules.inspect(c, context)));
        executed.addAll(repair(() -> rules.apply(c, inside), fromSchema));
        audit(c, releaseId, inside);
        c.commit();
        outside.forEach(f -> metrics.repaired(f.rule(), f.repair().size()));
        inside.forEach(f -> metrics.repaired(f.rule(), f.repair().size()));
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    }
    return executed;
  }

  /** The findings with a repair to make; a blocking one (the database changed since PREFLIGHT) stops the release. */
  private List<Finding> planned(Inspection inspection) {
    List<Finding> blocking = inspection.blocking();
    if (!blocking.isEmpty()) {
      throw LockstepException.aborted("pre-flight blocked at MIGRATING (the database changed since PREFLIGHT): "
          + blocking.stream().map(f -> f.object() + ": " + f.message()).collect(Collectors.joining("; ")));
    }
    return inspection.findings().stream().filter(Finding::hasRepair).toList();
  }

  private interface SqlWork {
    List<String> run() throws SQLException;
  }

  private static List<String> repair(SqlWork work, String fromSchema) {
    try {
      return work.run();
    } catch (SQLException e) {
      throw LockstepException.failed("repair failed: " + e.getMessage() + "; the repair transaction was rolled back"
          + " and the schema is still at " + fromSchema, e);
    }
  }

  private static void audit(Connection c, String releaseId, List<Finding> findings) throws SQLException {
    try (PreparedStatement audit = c.prepareStatement(
        "INSERT INTO lockstep.repairs (release_id, rule, object, statement) VALUES (?, ?, ?, ?)")) {
      for (Finding f : findings) {
        for (String sql : f.repair()) {
          audit.setString(1, releaseId);
          audit.setString(2, f.rule());
          audit.setString(3, f.object());
          audit.setString(4, sql);
          audit.addBatch();
        }
      }
      audit.executeBatch();
    }
  }
}
