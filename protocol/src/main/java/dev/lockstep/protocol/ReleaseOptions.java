package dev.lockstep.protocol;

/**
 * What the operator asked of a release beyond revision and schema. Kept in the release document,
 * so a coordinator that resumes the release honours the same choices.
 *
 * @param mode the requested mode (auto unless forced)
 * @param allowLost started although some agents were lost
 * @param allowDestructive online although the migrations remove or change what old code reads
 * @param allowDataLoss drops of tables or columns that still hold data are accepted
 */
public record ReleaseOptions(Mode mode, boolean allowLost, boolean allowDestructive, boolean allowDataLoss) {
  public static ReleaseOptions defaults() {
    return new ReleaseOptions(Mode.AUTO, false, false, false);
  }
}
