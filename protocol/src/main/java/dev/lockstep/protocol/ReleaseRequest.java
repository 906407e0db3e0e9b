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
 * @param minReady readiness mode: how many new instances (agents already on {@code revision}) PREPARING waits for;
 *     null for as many as there are serving instances when the release starts
 * @param migrationsFrom {@code agents}: carry the set the new instances staged (all must report one digest) instead
 *     of an uploaded set or the coordinator's folder; null otherwise
 * @param contract {@code defer} or {@code auto} (default): whether CONTRACTING waits for the old code to go, or the
 *     release ends with its contract pending for {@code lockstep contract}
 */
public record ReleaseRequest(String service, String revision, String schema, Mode mode, boolean allowLost,
                             boolean allowDestructive, boolean allowDataLoss, Map<String, String> migrations,
                             Integer minReady, String migrationsFrom, String contract) {

  public ReleaseRequest(String service, String revision, String schema, Mode mode, boolean allowLost,
                        boolean allowDestructive, boolean allowDataLoss, Map<String, String> migrations,
                        Integer minReady, String migrationsFrom) {
    this(service, revision, schema, mode, allowLost, allowDestructive, allowDataLoss, migrations, minReady,
        migrationsFrom, null);
  }

  /** {@code migrationsFrom}'s one value. */
  public static final String FROM_AGENTS = "agents";

  public ReleaseRequest(String service, String revision, String schema, Mode mode, boolean allowLost,
                        boolean allowDestructive, boolean allowDataLoss, Map<String, String> migrations) {
    this(service, revision, schema, mode, allowLost, allowDestructive, allowDataLoss, migrations, null, null);
  }

  /** The common case: no overrides, the coordinator's folder. */
  public static ReleaseRequest of(String revision, String schema) {
    return new ReleaseRequest(null, revision, schema, null, false, false, false, null);
  }

  /** The same request carrying {@code files} (name → Base64 of the bytes). */
  public ReleaseRequest withMigrations(Map<String, String> files) {
    return new ReleaseRequest(service, revision, schema, mode, allowLost, allowDestructive, allowDataLoss, files, minReady,
        migrationsFrom, contract);
  }

  /** The same request taking its set from the new instances ({@code --migrations-from agents}). */
  public ReleaseRequest fromAgents() {
    return new ReleaseRequest(service, revision, schema, mode, allowLost, allowDestructive, allowDataLoss, migrations,
        minReady, FROM_AGENTS, contract);
  }

  /** The same request waiting for {@code n} new instances in PREPARING. */
  public ReleaseRequest withMinReady(Integer n) {
    return new ReleaseRequest(service, revision, schema, mode, allowLost, allowDestructive, allowDataLoss, migrations, n,
        migrationsFrom, contract);
  }

  /** The same request with {@code contract} ({@code defer} or {@code auto}). */
  public ReleaseRequest withContract(String when) {
    return new ReleaseRequest(service, revision, schema, mode, allowLost, allowDestructive, allowDataLoss, migrations,
        minReady, migrationsFrom, when);
  }

  /** Whether the set comes from the new instances. */
  public boolean fromNewInstances() {
    return FROM_AGENTS.equals(migrationsFrom);
  }

  /** The operator's overrides, as the release document keeps them. */
  public ReleaseOptions options() {
    return new ReleaseOptions(mode == null ? Mode.AUTO : mode, allowLost, allowDestructive, allowDataLoss, minReady,
        migrationsFrom, contract);
  }
}
