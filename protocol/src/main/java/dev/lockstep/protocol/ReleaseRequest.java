package dev.lockstep.protocol;

import java.util.Map;

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
 * @param migrations the migration set the release carries, file name ({@code V…}/{@code U…} {@code .sql} and
 *     {@code .sql.conf}) → Base64 of the file's bytes; null for the coordinator's {@code --migrations} folder
 *     as it is now. Also the body of {@code POST /v1/check}.
 */
public record ReleaseRequest(String service, String revision, String schema, Mode mode, boolean allowLost,
                             boolean allowDestructive, boolean allowDataLoss, Map<String, String> migrations) {

  /** The common case: no overrides, the coordinator's folder. */
  public static ReleaseRequest of(String revision, String schema) {
    return new ReleaseRequest(null, revision, schema, null, false, false, false, null);
  }

  /** The same request carrying {@code files} (name → Base64 of the bytes). */
  public ReleaseRequest withMigrations(Map<String, String> files) {
    return new ReleaseRequest(service, revision, schema, mode, allowLost, allowDestructive, allowDataLoss, files);
  }

  /** The operator's overrides, as the release document keeps them. */
  public ReleaseOptions options() {
    return new ReleaseOptions(mode == null ? Mode.AUTO : mode, allowLost, allowDestructive, allowDataLoss);
  }
}
