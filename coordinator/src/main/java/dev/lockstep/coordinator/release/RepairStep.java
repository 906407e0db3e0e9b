package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.lock.Fence;
import dev.lockstep.protocol.Finding;
import dev.lockstep.rules.Inspection;
import dev.lockstep.rules.Repairs;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The repairs at the start of MIGRATING, for one run: planned again on the live database, made,
 * audited. Blocks; the run calls it on the worker executor.
 *
 * <pre>{@code List<String> made = new RepairStep(deps, "app", releaseId, epoch, "3").apply();}</pre>
 */
final class RepairStep {
  private final ReleaseDeps deps;
  private final String service;
  private final String releaseId;
  private final long epoch;
  private final String fromSchema;

  /**
   * @param fromSchema the schema version before the release, for messages
   */
  RepairStep(ReleaseDeps deps, String service, String releaseId, long epoch, String fromSchema) {
    this.deps = deps;
    this.service = service;
    this.releaseId = releaseId;
    this.epoch = epoch;
    this.fromSchema = fromSchema;
  }

  /**
   * Re-inspects (the database may have changed since PREFLIGHT, and a resumed run must not repeat a
   * repair), then applies what is planned: first the repairs that cannot run in a transaction
   * (rebuilding an invalid index concurrently), then the others in one fenced transaction. Each
   * statement is audited in {@code lockstep.repairs}.
   */
  List<String> apply() throws SQLException {
    List<String> executed = new ArrayList<>();
    try (Connection c = deps.connections().open("lockstep-repair/" + service)) {
      try (Statement s = c.createStatement()) {
        s.execute("SET lock_timeout = '" + deps.config().lockTimeout().toMillis() + "ms'");
      }
      List<Finding> outside = Repairs.outsideTransaction(planned(deps.rules().inspect(c, deps.inspectionContext())));
      if (!outside.isEmpty()) {
        Fence.checkEpoch(c, service, epoch);
        executed.addAll(repair(() -> deps.rules().applyOutsideTransaction(c, outside)));
        audit(c, outside);
      }
      c.setAutoCommit(false);
      try {
        Fence.checkEpoch(c, service, epoch);
        List<Finding> inside = Repairs.inTransaction(planned(deps.rules().inspect(c, deps.inspectionContext())));
        executed.addAll(repair(() -> deps.rules().apply(c, inside)));
        audit(c, inside);
        c.commit();
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
      throw new ReleaseAbortedException("pre-flight blocked at MIGRATING (the database changed since PREFLIGHT): "
          + blocking.stream().map(f -> f.object() + ": " + f.message()).collect(Collectors.joining("; ")));
    }
    return inspection.findings().stream().filter(Finding::hasRepair).toList();
  }

  private interface SqlWork {
    List<String> run() throws SQLException;
  }

  private List<String> repair(SqlWork work) {
    try {
      return work.run();
    } catch (SQLException e) {
      throw new ReleaseFailedException("repair failed: " + e.getMessage() + "; the repair transaction was rolled back"
          + " and the schema is still at " + fromSchema, FleetInstruction.ABORT, e);
    }
  }

  private void audit(Connection c, List<Finding> findings) throws SQLException {
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
