package dev.lockstep.protocol;

import java.util.List;

/**
 * What {@code lockstep check} / {@code POST /v1/check} reports: the findings, the repairs a release
 * would make, and the mode it would take — computed exactly as PREFLIGHT does, with nothing changed.
 *
 * @param service the service
 * @param current the database's schema version, or null
 * @param target the version a release would move to
 * @param pending the migrations it would apply
 * @param findings rules' and rehearsal's findings
 * @param repairs repair statements it would run first
 * @param mode online or maintenance
 * @param modeReason why
 * @param blocked whether a release would stop in PREFLIGHT
 * @param blockingReason why, naming each object
 * @param elapsedMs how long the check took
 * @param contract the contract migrations among {@code pending}, which run after the switch (empty without any)
 * @param contractEffects what they remove and the data they drop, as the rehearsal saw it
 * @param locks the table locks the repairs and migrations take, as the rehearsal measured them ({@link LockFootprint}); empty when
 *     nothing was rehearsed or the engine does not measure them (Alembic)
 */
public record CheckReport(String service, String current, String target, List<String> pending, List<Finding> findings,
                          List<String> repairs, Mode mode, String modeReason, boolean blocked, String blockingReason,
                          long elapsedMs, List<String> contract, List<String> contractEffects,
                          List<LockFootprint> locks) {
  public CheckReport {
    contract = contract == null ? List.of() : List.copyOf(contract);
    contractEffects = contractEffects == null ? List.of() : List.copyOf(contractEffects);
    locks = locks == null ? List.of() : List.copyOf(locks);
  }

  /** A report without measured locks. */
  public CheckReport(String service, String current, String target, List<String> pending, List<Finding> findings,
                     List<String> repairs, Mode mode, String modeReason, boolean blocked, String blockingReason,
                     long elapsedMs, List<String> contract, List<String> contractEffects) {
    this(service, current, target, pending, findings, repairs, mode, modeReason, blocked, blockingReason, elapsedMs,
        contract, contractEffects, List.of());
  }
}
