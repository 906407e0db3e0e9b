package dev.lockstep.protocol;

/**
 * The level-triggered command for every agent of a service ({@code GET
 * /v1/services/{service}/desired?index=N&wait=30s}). Agents converge on it whenever they see it,
 * however late; {@code index} grows with every change so a blocking query can wait for the next.
 *
 * @param service the service
 * @param index changes whenever anything below changes; 0 when there was never a release
 * @param epoch the fencing epoch of the coordinator that wrote it; agents ignore lower epochs
 * @param releaseId the current or last release, or null
 * @param phase that release's phase, or null
 * @param targetRevision the code revision the release moves to
 * @param mode online or maintenance
 * @param digest the coordinator's digest of the migrations folder; prepared agents must match it
 * @param schema the target schema version
 * @param hold after a failed non-atomic maintenance release: agents that prepared stay as they are,
 *     not serving, instead of going back to old code that may not read the schema (state {@code holding})
 * @param releasedRevision the revision of the service's last COMPLETED release, null before the first: in readiness
 *     mode an instance on it takes traffic while no release says otherwise
 * @param retire readiness mode: instances on a revision other than {@code targetRevision} stop taking traffic now —
 *     from PREPARING in maintenance mode; in online mode once every new instance has turned ready in SWITCHING, so the
 *     service never has no instance ready; and at COMPLETED
 * @param switchAt in SWITCHING, the instant (ISO-8601, the coordinator's clock) at which every agent lets its switch
 *     hook run: written {@code --switch-lead} ahead, so the fan-out to the fleet and each agent's own work on the answer
 *     (decoding, reporting) are done before it, and the switch moments differ by timer and clock error only; an agent
 *     that learns of the switch later switches at once. Null: switch on arrival (no lead, or an older coordinator)
 */
public record DesiredState(
    String service,
    long index,
    long epoch,
    String releaseId,
    Phase phase,
    String targetRevision,
    Mode mode,
    String digest,
    String schema,
    boolean hold,
    String releasedRevision,
    boolean retire,
    String switchAt) {

  /** A desired state that does not ask agents to hold. */
  public DesiredState(String service, long index, long epoch, String releaseId, Phase phase, String targetRevision,
                      Mode mode, String digest, String schema) {
    this(service, index, epoch, releaseId, phase, targetRevision, mode, digest, schema, false, null, false, null);
  }

  public DesiredState(String service, long index, long epoch, String releaseId, Phase phase, String targetRevision,
                      Mode mode, String digest, String schema, boolean hold) {
    this(service, index, epoch, releaseId, phase, targetRevision, mode, digest, schema, hold, null, false, null);
  }

  /** With the released revision, without asking retiring instances to stop. */
  public DesiredState(String service, long index, long epoch, String releaseId, Phase phase, String targetRevision,
                      Mode mode, String digest, String schema, boolean hold, String releasedRevision) {
    this(service, index, epoch, releaseId, phase, targetRevision, mode, digest, schema, hold, releasedRevision, false, null);
  }

  /** Without a switch time: agents switch on arrival. */
  public DesiredState(String service, long index, long epoch, String releaseId, Phase phase, String targetRevision,
                      Mode mode, String digest, String schema, boolean hold, String releasedRevision, boolean retire) {
    this(service, index, epoch, releaseId, phase, targetRevision, mode, digest, schema, hold, releasedRevision, retire,
        null);
  }

  public static DesiredState none(String service) {
    return new DesiredState(service, 0, 0, null, null, null, null, null, null);
  }

  public DesiredState withIndex(long newIndex) {
    return new DesiredState(service, newIndex, epoch, releaseId, phase, targetRevision, mode, digest, schema, hold,
        releasedRevision, retire, switchAt);
  }

  public DesiredState withReleasedRevision(String revision) {
    return new DesiredState(service, index, epoch, releaseId, phase, targetRevision, mode, digest, schema, hold, revision,
        retire, switchAt);
  }
}
