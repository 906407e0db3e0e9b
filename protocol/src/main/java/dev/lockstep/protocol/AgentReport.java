package dev.lockstep.protocol;

/**
 * What an agent tells the coordinator about itself ({@code PUT /v1/agents/{id}}), every two seconds
 * and after every hook.
 *
 * @param id the agent's id (default: host name)
 * @param service the service it belongs to
 * @param revision the code revision it runs now
 * @param state what it is doing
 * @param releaseId the release its state refers to, or null
 * @param epoch the highest fencing epoch it has seen; it ignores anything older
 * @param digest digest of the migrations folder it staged for {@code releaseId}, or null
 * @param detail why a hook failed (exit code and stderr tail), or null
 * @param switchedAt when its switch hook finished (ISO-8601), or null; in readiness mode when it turned ready (a new
 *     instance) or un-ready (a retiring one) for {@code releaseId}
 * @param ready in readiness mode ({@code --readiness-port}), what its {@code GET /ready} answers now; null otherwise
 * @param ephemeral it runs with {@code --ephemeral}: it never comes back under this id, so a silent one is forgotten
 *     rather than kept as {@code lost}
 * @param reportIntervalMs how often it reports ({@code --report-interval}); 0 from agents that do not say
 */
public record AgentReport(
    String id,
    String service,
    String revision,
    AgentState state,
    String releaseId,
    long epoch,
    String digest,
    String detail,
    String switchedAt,
    Boolean ready,
    boolean ephemeral,
    long reportIntervalMs) {

  /** A report of a long-lived server without readiness mode. */
  public AgentReport(String id, String service, String revision, AgentState state, String releaseId, long epoch,
                     String digest, String detail, String switchedAt) {
    this(id, service, revision, state, releaseId, epoch, digest, detail, switchedAt, null, false, 0);
  }

  /** The same report with {@code newDetail}. */
  public AgentReport withDetail(String newDetail) {
    return new AgentReport(id, service, revision, state, releaseId, epoch, digest, newDetail, switchedAt, ready, ephemeral,
        reportIntervalMs);
  }
}
