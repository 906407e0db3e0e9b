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
 * @param options what the operator asked beyond revision and schema (requested mode, overrides)
 * @param migrationsDigest the digest ({@link MigrationsDigest}) of the migration set the release carries,
 *     stored when it was created; every step and every coordinator that resumes it uses that set
 * @param backup what the backup command did before MIGRATING; null without {@code --backup-command}
 * @param requestedBy who started it: the operator token's name ({@code operator} for {@code --token}); null for
 *     releases stored before the audit existed
 * @param requestedFrom the address the start request came from (the connection's, not a forwarded-for header)
 * @param abortedBy who asked to abort it, once someone did; null otherwise
 * @param abortedFrom the address the abort request came from
 * @param contract its contract migrations and where they are ({@link ContractStatus#NONE} without any)
 * @param locks the table locks its migrations take, as PREFLIGHT's rehearsal measured them ({@link LockFootprint}):
 *     announced before MIGRATING takes them; empty before PREFLIGHT, in documents stored before it was measured, and
 *     with an engine that does not measure them
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
    String updatedAt,
    ReleaseOptions options,
    String migrationsDigest,
    BackupResult backup,
    String requestedBy,
    String requestedFrom,
    String abortedBy,
    String abortedFrom,
    ContractStatus contract,
    List<LockFootprint> locks) {

  public ReleaseDocument {
    findings = findings == null ? List.of() : List.copyOf(findings);
    repairs = repairs == null ? List.of() : List.copyOf(repairs);
    pending = pending == null ? List.of() : List.copyOf(pending);
    applied = applied == null ? List.of() : List.copyOf(applied);
    agents = agents == null ? List.of() : List.copyOf(agents);
    options = options == null ? ReleaseOptions.defaults() : options;
    contract = contract == null ? ContractStatus.NONE : contract;
    locks = locks == null ? List.of() : List.copyOf(locks);
  }

  public Builder toBuilder() {
    return new Builder(this);
  }

  /** Copy-and-change for a release as it moves through its phases. */
  public static final class Builder {
    private String id, service, revision, schema, fromSchema, modeReason, reason, createdAt, updatedAt;
    private Mode mode;
    private Phase phase;
    private List<Finding> findings;
    private List<String> repairs, pending;
    private List<AppliedMigration> applied;
    private List<ReleaseAgent> agents;
    private Long switchSkewMs;
    private long epoch;
    private ReleaseOptions options;
    private String migrationsDigest;
    private BackupResult backup;
    private String requestedBy, requestedFrom, abortedBy, abortedFrom;
    private ContractStatus contract;
    private List<LockFootprint> locks;

    public Builder() {}

    private Builder(ReleaseDocument d) {
      id = d.id; service = d.service; revision = d.revision; schema = d.schema; fromSchema = d.fromSchema;
      mode = d.mode; modeReason = d.modeReason; phase = d.phase; reason = d.reason; findings = d.findings;
      repairs = d.repairs; pending = d.pending; applied = d.applied; agents = d.agents; switchSkewMs = d.switchSkewMs;
      epoch = d.epoch; createdAt = d.createdAt; updatedAt = d.updatedAt; options = d.options;
      migrationsDigest = d.migrationsDigest; backup = d.backup; contract = d.contract;
      requestedBy = d.requestedBy; requestedFrom = d.requestedFrom; abortedBy = d.abortedBy; abortedFrom = d.abortedFrom;
      locks = d.locks;
    }

    public Builder id(String v) { id = v; return this; }
    public Builder service(String v) { service = v; return this; }
    public Builder revision(String v) { revision = v; return this; }
    public Builder schema(String v) { schema = v; return this; }
    public Builder fromSchema(String v) { fromSchema = v; return this; }
    public Builder mode(Mode v) { mode = v; return this; }
    public Builder modeReason(String v) { modeReason = v; return this; }
    public Builder phase(Phase v) { phase = v; return this; }
    public Builder reason(String v) { reason = v; return this; }
    public Builder findings(List<Finding> v) { findings = v; return this; }
    public Builder repairs(List<String> v) { repairs = v; return this; }
    public Builder pending(List<String> v) { pending = v; return this; }
    public Builder applied(List<AppliedMigration> v) { applied = v; return this; }
    public Builder agents(List<ReleaseAgent> v) { agents = v; return this; }
    public Builder switchSkewMs(Long v) { switchSkewMs = v; return this; }
    public Builder epoch(long v) { epoch = v; return this; }
    public Builder createdAt(String v) { createdAt = v; return this; }
    public Builder updatedAt(String v) { updatedAt = v; return this; }
    public Builder options(ReleaseOptions v) { options = v; return this; }
    public Builder migrationsDigest(String v) { migrationsDigest = v; return this; }
    public Builder backup(BackupResult v) { backup = v; return this; }
    public Builder requestedBy(String v) { requestedBy = v; return this; }
    public Builder requestedFrom(String v) { requestedFrom = v; return this; }
    public Builder abortedBy(String v) { abortedBy = v; return this; }
    public Builder abortedFrom(String v) { abortedFrom = v; return this; }
    public Builder contract(ContractStatus v) { contract = v; return this; }
    public Builder locks(List<LockFootprint> v) { locks = v; return this; }

    public ReleaseDocument build() {
      return new ReleaseDocument(id, service, revision, schema, fromSchema, mode, modeReason, phase, reason, findings,
          repairs, pending, applied, agents, switchSkewMs, epoch, createdAt, updatedAt, options, migrationsDigest,
          backup, requestedBy, requestedFrom, abortedBy, abortedFrom, contract, locks);
    }
  }
}
