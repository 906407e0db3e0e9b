package dev.lockstep.protocol;

/**
 * Body of {@code POST /v1/releases}.
 *
 * @param service the service (default: the coordinator's)
 * @param revision the code revision to move to (required)
 * @param schema the target schema version; null for the newest migration
 * @param mode online, maintenance or auto (default)
 * @param allowLost start even though some agents of the service are lost
 */
public record ReleaseRequest(String service, String revision, String schema, Mode mode, boolean allowLost) {}
