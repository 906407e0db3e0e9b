package dev.lockstep.protocol;

/**
 * Body of {@code POST /v1/releases}.
 *
 * @param service the service (default: the coordinator's)
 * @param revision the code revision to move to (required)
 * @param schema the target schema version; null for the newest migration
 * @param mode online, maintenance or auto (default)
 * @param allowLost start even though some agents of the service are lost
 * @param allowDestructive allow {@code mode: online} although the migrations remove or change what old code reads
 * @param allowDataLoss allow migrations that drop tables or columns still holding data
 */
public record ReleaseRequest(String service, String revision, String schema, Mode mode, boolean allowLost,
                             boolean allowDestructive, boolean allowDataLoss) {

  /** The common case: no overrides. */
  public static ReleaseRequest of(String revision, String schema) {
    return new ReleaseRequest(null, revision, schema, null, false, false, false);
  }

  /** The operator's overrides, as the release document keeps them. */
  public ReleaseOptions options() {
    return new ReleaseOptions(mode == null ? Mode.AUTO : mode, allowLost, allowDestructive, allowDataLoss);
  }
}
