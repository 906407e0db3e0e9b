package dev.lockstep.protocol;

import java.util.List;

/**
 * A release as the API returns it ({@code GET /v1/releases/{id}}). The field names are part of the
 * contract in DESIGN.md.
 *
 * @param id release id
 * @param service the service released
 * @param revision target code revision
 * @param schema target schema version
 * @param fromSchema schema version when the release was planned
 * @param mode the mode it runs in (online or maintenance once decided)
 * @param modeReason why that mode
 * @param phase where it is
 * @param reason why it ended ABORTED or FAILED (names the agent, migration or object), else null
 * @param findings what pre-flight rules found
 * @param repairs the repair statements applied (or planned, before MIGRATING)
 * @param pending migrations it will apply
 * @param applied migrations it applied
 * @param agents the agents taking part
 * @param switchSkewMs latest minus earliest switch time, once switched
 * @param epoch fencing epoch of the coordinator running it
 * @param createdAt when it was requested (ISO-8601)
 * @param updatedAt last change (ISO-8601)
 */
public record ReleaseDocument(
    String id,
    String service,
    String revision,
    String schema,
    String fromSchema,
    Mode mode,
    String modeReason,
    Phase phase,
    String reason,
    List<Finding> findings,
    List<String> repairs,
    List<String> pending,
    List<AppliedMigration> applied,
    List<ReleaseAgent> agents,
    Long switchSkewMs,
    long epoch,
    String createdAt,
    String updatedAt) {

  public ReleaseDocument {
    findings = findings == null ? List.of() : List.copyOf(findings);
    repairs = repairs == null ? List.of() : List.copyOf(repairs);
    pending = pending == null ? List.of() : List.copyOf(pending);
    applied = applied == null ? List.of() : List.copyOf(applied);
    agents = agents == null ? List.of() : List.copyOf(agents);
  }
}
