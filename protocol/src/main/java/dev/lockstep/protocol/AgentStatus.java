package dev.lockstep.protocol;

/**
 * An agent as the coordinator sees it: its last report plus when it was last heard from. The state
 * is {@code lost} once it has been silent longer than the liveness timeout.
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
    String lastSeen) {

  public static AgentStatus of(AgentReport report, String lastSeen) {
    return new AgentStatus(report.id(), report.service(), report.revision(), report.state(), report.releaseId(),
        report.epoch(), report.digest(), report.detail(), report.switchedAt(), lastSeen);
  }

  public AgentStatus withState(AgentState newState) {
    return new AgentStatus(id, service, revision, newState, releaseId, epoch, digest, detail, switchedAt, lastSeen);
  }
}
