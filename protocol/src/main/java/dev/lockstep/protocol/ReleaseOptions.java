package dev.lockstep.protocol;

/**
 * What the operator asked of a release beyond revision and schema. Kept in the release document,
 * so a coordinator that resumes the release honours the same choices.
 *
 * @param mode the requested mode (auto unless forced)
 * @param allowLost started although some agents were lost
 * @param allowDestructive online although the migrations remove or change what old code reads
 * @param allowDataLoss drops of tables or columns that still hold data are accepted
 * @param minReady readiness mode: the new instances PREPARING waits for, as decided when the release started (the
 *     request's {@code minReady}, or the serving instances then); null for releases without new instances
 * @param migrationsFrom {@code agents} when the set was taken from the new instances, else null
 * @param contract {@code defer} ({@code release --contract defer}): the release ends once switched, its contract
 *     {@code pending} for {@code lockstep contract}; null or {@code auto}: CONTRACTING waits for the old code to go
 */
public record ReleaseOptions(Mode mode, boolean allowLost, boolean allowDestructive, boolean allowDataLoss,
                             Integer minReady, String migrationsFrom, String contract) {
  /** {@code contract}'s values. */
  public static final String CONTRACT_AUTO = "auto";
  public static final String CONTRACT_DEFER = "defer";

  public ReleaseOptions(Mode mode, boolean allowLost, boolean allowDestructive, boolean allowDataLoss) {
    this(mode, allowLost, allowDestructive, allowDataLoss, null, null, null);
  }

  public ReleaseOptions(Mode mode, boolean allowLost, boolean allowDestructive, boolean allowDataLoss,
                        Integer minReady, String migrationsFrom) {
    this(mode, allowLost, allowDestructive, allowDataLoss, minReady, migrationsFrom, null);
  }

  /** Whether the operator deferred the contract to {@code lockstep contract}. */
  public boolean deferContract() {
    return CONTRACT_DEFER.equals(contract);
  }

  public static ReleaseOptions defaults() {
    return new ReleaseOptions(Mode.AUTO, false, false, false);
  }

  public ReleaseOptions withMinReady(Integer n) {
    return new ReleaseOptions(mode, allowLost, allowDestructive, allowDataLoss, n, migrationsFrom, contract);
  }
}
