package dev.lockstep.protocol;

/**
 * An agent as the coordinator sees it: its last report plus when it was last heard from. The state
 * is {@code lost} once it has been silent longer than the liveness timeout. {@code ready} and {@code ephemeral} are
 * as the agent reported them ({@link AgentReport}).
 */
public record AgentStatus(
    String id,
    String service,
    String revision,
    AgentState state,
    String releaseId,
    long epoch,
    String digest,
    String detail,
    String switchedAt,
    String lastSeen,
    Boolean ready,
    boolean ephemeral,
    long reportIntervalMs) {

  /** A long-lived server without readiness mode. */
  public AgentStatus(String id, String service, String revision, AgentState state, String releaseId, long epoch,
                     String digest, String detail, String switchedAt, String lastSeen) {
    this(id, service, revision, state, releaseId, epoch, digest, detail, switchedAt, lastSeen, null, false, 0);
  }

  public static AgentStatus of(AgentReport report, String lastSeen) {
    return new AgentStatus(report.id(), report.service(), report.revision(), report.state(), report.releaseId(),
        report.epoch(), report.digest(), report.detail(), report.switchedAt(), lastSeen, report.ready(),
        report.ephemeral(), report.reportIntervalMs());
  }

  public AgentStatus withState(AgentState newState) {
    return new AgentStatus(id, service, revision, newState, releaseId, epoch, digest, detail, switchedAt, lastSeen, ready,
        ephemeral, reportIntervalMs);
  }

  /** In readiness mode ({@code --readiness-port}): it answers the platform's readiness probe. */
  public boolean readinessMode() {
    return ready != null;
  }
}
