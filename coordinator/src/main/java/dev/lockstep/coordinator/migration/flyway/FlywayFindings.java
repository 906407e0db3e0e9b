package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.SqlScript;
import java.util.List;
import java.util.Optional;

/**
 * What pre-flight says about how a Flyway script meets the release's transaction (DESIGN.md, safety rule
 * 5), so that {@code check} and the release document say it before anything runs:
 * <ul>
 *   <li>{@code transaction-control} (block) — a {@code COMMIT}, {@code SAVEPOINT}, … other than an
 *       outer wrapper, in a script not marked non-transactional: it would end the release's transaction;</li>
 *   <li>{@code non-transactional} (warn) — a script marked {@code executeInTransaction=false}, or one
 *       with a statement PostgreSQL refuses in a transaction block: it runs in a step of its own;</li>
 *   <li>{@code transaction-wrapper} (info) — an outer {@code BEGIN; … COMMIT;}, left out so the script
 *       runs inside the release's transaction.</li>
 * </ul>
 */
final class FlywayFindings {
  static final String CONTROL = "transaction-control";
  static final String NON_TRANSACTIONAL = "non-transactional";
  static final String WRAPPER = "transaction-wrapper";

  private static final String NOT_ATOMIC = " and is not rehearsed, so this release is not atomic; if a later step fails,"
      + " the database stays at the last step that committed";

  private FlywayFindings() {}

  /** How a finding names a script: {@code V3}, or {@code U3} for its undo. */
  static String name(PendingMigration m) {
    return (m.undo() ? "U" : "V") + m.version();
  }

  static Optional<Finding> of(PendingMigration m) {
    String object = name(m);
    SqlScript script = m.statements();
    if (!m.executeInTransaction()) {
      return Optional.of(new Finding(NON_TRANSACTIONAL, Severity.WARN, object, "migration " + m.label() + " is marked"
          + " non-transactional by " + m.confFile() + ": it runs as written, outside any transaction, in a step of its own"
          + NOT_ATOMIC, List.of()));
    }
    if (!script.nonTransactional().isEmpty()) {
      return Optional.of(new Finding(NON_TRANSACTIONAL, Severity.WARN, object, "migration " + m.label() + " cannot run in"
          + " a transaction (" + script.nonTransactional().get(0).describe() + "): it runs in a step of its own" + NOT_ATOMIC,
          List.of()));
    }
    SqlScript.Statement control = m.unmarkedTransactionControl();
    if (control != null) {
      return Optional.of(new Finding(CONTROL, Severity.BLOCK, object, "migration " + m.label() + " (" + m.script() + ") has "
          + control.describe() + ", which would end the release's transaction and leave it half-applied if a later"
          + " migration failed; nothing was run. Remove it (an outer BEGIN; … COMMIT; wrapper alone is fine), or, "
          + m.howToMark(), List.of()));
    }
    if (script.wrapped()) {
      return Optional.of(new Finding(WRAPPER, Severity.INFO, object, "migration " + m.label() + " brings its own"
          + " BEGIN; … COMMIT; wrapper: it runs without it, inside the release's transaction, so the release stays atomic",
          List.of()));
    }
    return Optional.empty();
  }
}
