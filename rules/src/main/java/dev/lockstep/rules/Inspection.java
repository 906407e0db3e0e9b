package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import java.util.List;

/**
 * What {@link RuleEngine#inspect(java.sql.Connection)} found: every rule's findings, in rule order.
 *
 * <pre>{@code
 * Inspection inspection = engine.inspect(connection);
 * if (inspection.blocked()) {
 *   abort(inspection.blocking());            // PREFLIGHT ends ABORTED
 * }
 * List<String> plan = inspection.repairs();  // rehearse with the migrations, apply in MIGRATING
 * }</pre>
 *
 * @param findings all findings, in rule order
 * @param elapsedMs how long the snapshot and the rules took
 */
public record Inspection(List<Finding> findings, long elapsedMs) {
  public Inspection {
    findings = List.copyOf(findings);
  }

  /** The findings that stop a release. */
  public List<Finding> blocking() {
    return findings.stream().filter(Finding::blocks).toList();
  }

  public boolean blocked() {
    return findings.stream().anyMatch(Finding::blocks);
  }

  /** Every planned repair statement, in the order they would run. */
  public List<String> repairs() {
    return findings.stream().flatMap(finding -> finding.repair().stream()).toList();
  }
}
