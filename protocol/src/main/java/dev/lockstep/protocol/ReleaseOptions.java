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
 */
public record ReleaseOptions(Mode mode, boolean allowLost, boolean allowDestructive, boolean allowDataLoss,
                             Integer minReady, String migrationsFrom) {

  public ReleaseOptions(Mode mode, boolean allowLost, boolean allowDestructive, boolean allowDataLoss) {
    this(mode, allowLost, allowDestructive, allowDataLoss, null, null);
  }

  public static ReleaseOptions defaults() {
    return new ReleaseOptions(Mode.AUTO, false, false, false);
  }

  public ReleaseOptions withMinReady(Integer n) {
    return new ReleaseOptions(mode, allowLost, allowDestructive, allowDataLoss, n, migrationsFrom);
  }
}
