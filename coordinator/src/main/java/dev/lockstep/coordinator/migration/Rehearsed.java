package dev.lockstep.coordinator.migration;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.LockFootprint;
import dev.lockstep.rules.Repairs;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What an engine's rehearsal saw: the planned repairs and the pending migrations run on something that is then thrown
 * away (Flyway: Lockstep's own transaction, rolled back; Alembic: a schema-only clone), nothing changed.
 *
 * @param failure why a repair or migration would fail (naming it), or null
 * @param effects per migration, what it does that old code cannot live with
 * @param dataLoss each dropped table or column that holds data, and how much
 * @param notRehearsed migrations that cannot run in a transaction and were skipped
 * @param tablesLocked existing tables ({@code schema.table}) the repairs and migrations lock against writers or
 *     readers: where another session's lock would make the release wait
 * @param failedMigration the migration that failed, if one did
 * @param blocking the finding that says why it failed in the engine's own terms, when the generic {@code rehearsal}
 *     finding would say less (a script that tried to commit, and how to mark it); null otherwise
 * @param notes findings the engine adds whatever happens (how it rehearsed, and what that cannot catch)
 * @param contractEffects what the contract migrations (rehearsed after the others) remove or change: what they are
 *     for, so it does not make the release {@code maintenance}
 * @param contractDataLoss the data the contract migrations drop: a warning, not a block
 * @param locks the table locks each migration takes on tables that existed before, with the tables' sizes and how long
 *     the rehearsal held them; empty when the engine does not measure them
 */
public record Rehearsed(String failure, List<String> effects, List<DataLoss> dataLoss, List<PendingMigration> notRehearsed,
                        Set<String> tablesLocked, PendingMigration failedMigration, Finding blocking, List<Finding> notes,
                        List<String> contractEffects, List<DataLoss> contractDataLoss, List<LockFootprint> locks) {

  public Rehearsed {
    effects = List.copyOf(effects);
    dataLoss = List.copyOf(dataLoss);
    notRehearsed = List.copyOf(notRehearsed);
    tablesLocked = Set.copyOf(tablesLocked);
    notes = List.copyOf(notes);
    contractEffects = contractEffects == null ? List.of() : List.copyOf(contractEffects);
    contractDataLoss = contractDataLoss == null ? List.of() : List.copyOf(contractDataLoss);
    locks = locks == null ? List.of() : List.copyOf(locks);
  }

  /** A rehearsal that measured no locks. */
  public Rehearsed(String failure, List<String> effects, List<DataLoss> dataLoss, List<PendingMigration> notRehearsed,
                   Set<String> tablesLocked, PendingMigration failedMigration, Finding blocking, List<Finding> notes,
                   List<String> contractEffects, List<DataLoss> contractDataLoss) {
    this(failure, effects, dataLoss, notRehearsed, tablesLocked, failedMigration, blocking, notes, contractEffects,
        contractDataLoss, List.of());
  }

  /** A rehearsal of a release without contract migrations. */
  public Rehearsed(String failure, List<String> effects, List<DataLoss> dataLoss, List<PendingMigration> notRehearsed,
                   Set<String> tablesLocked, PendingMigration failedMigration, Finding blocking, List<Finding> notes) {
    this(failure, effects, dataLoss, notRehearsed, tablesLocked, failedMigration, blocking, notes, List.of(), List.of());
  }

  /** A rehearsal that failed before or at {@code failed} (may be null), saying {@code why}. */
  public static Rehearsed failed(String why, PendingMigration failed, List<PendingMigration> notRehearsed,
                                 Set<String> tablesLocked) {
    return new Rehearsed(why, List.of(), List.of(), notRehearsed, tablesLocked, failed, null, List.of());
  }

  /**
   * Runs the planned repairs that run in a transaction ahead of the migrations, as the release will; those that cannot
   * (CREATE INDEX CONCURRENTLY) are left out. Returns the failed rehearsal when one of them fails.
   */
  public static Optional<Rehearsed> repairsFail(Statement statement, List<String> repairs) {
    for (String repair : repairs) {
      if (!Repairs.isTransactional(repair)) {
        continue;
      }
      try {
        statement.execute(repair);
      } catch (SQLException e) {
        return Optional.of(failed("rehearsal: repair " + repair + " would fail: " + e.getMessage(), null, List.of(),
            Set.of()));
      }
    }
    return Optional.empty();
  }

  /** The same, with the engine's own finding for the failure. */
  public Rehearsed blockedBy(Finding finding) {
    return new Rehearsed(failure, effects, dataLoss, notRehearsed, tablesLocked, failedMigration, finding, notes,
        contractEffects, contractDataLoss, locks);
  }

  /** The same, with {@code more} notes. */
  public Rehearsed noting(List<Finding> more) {
    List<Finding> all = new java.util.ArrayList<>(notes);
    all.addAll(more);
    return new Rehearsed(failure, effects, dataLoss, notRehearsed, tablesLocked, failedMigration, blocking, all,
        contractEffects, contractDataLoss, locks);
  }
}
