package dev.lockstep.protocol;

import java.util.Map;

/**
 * {@code POST /v1/baseline} ({@code lockstep baseline --schema V}): adopt a database that has tables but
 * no Flyway history by recording {@code schema} as applied without running it. Nothing is baselined
 * silently: {@code dryRun} is required, {@code true} answers the report of what is there and changes
 * nothing, {@code false} records the baseline (after the operator read that report).
 *
 * <pre>{@code new BaselineRequest(null, "2", true, null)   // what is there, and what baselining at 2 would mean}</pre>
 *
 * @param service the service (default: the coordinator's)
 * @param schema the version to record as applied; required, a version of the migration set
 * @param dryRun required: true for the report only, false to record the baseline
 * @param migrations the migration set to compare with, as for a release (file name → Base64); null for the
 *     coordinator's {@code --migrations} folder as it is now
 */
public record BaselineRequest(String service, String schema, Boolean dryRun, Map<String, String> migrations) {}
