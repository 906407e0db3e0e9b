package dev.lockstep.agent;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import java.util.Objects;

/**
 * What this agent knows about itself: the revision it runs, what it is doing, for which release,
 * and the highest fencing epoch it has seen. Immutable; every change makes a new one.
 *
 * @param revision the code revision deployed here
 * @param state what the agent is doing
 * @param releaseId the release {@code state} refers to, or null
 * @param epoch the highest epoch seen in a desired state; lower ones are ignored
 * @param digest the migrations digest staged for {@code releaseId}; in readiness mode outside a release, that of the
 *     migrations folder as it is (so new instances say which set their image carries); null without a folder
 * @param detail why a hook failed, or null
 * @param switchedAt when the switch hook finished (ISO-8601), or null
 */
public record LocalState(
    String revision,
    AgentState state,
    String releaseId,
    long epoch,
    String digest,
    String detail,
    String switchedAt) {

  public LocalState {
    Objects.requireNonNull(revision, "revision");
    Objects.requireNonNull(state, "state");
  }

  /** A freshly started agent: serving its revision, in no release, no epoch seen yet. */
  public static LocalState serving(String revision) {
    return new LocalState(revision, AgentState.SERVING, null, 0, null, null, null);
  }

  /** Readiness mode: stopped taking traffic for {@code retiringReleaseId} at {@code at}; the digest stays what it is. */
  public LocalState retired(String retiringReleaseId, String at) {
    return new LocalState(revision, AgentState.RETIRED, retiringReleaseId, epoch, digest, null, at);
  }

  /** True when this state is about {@code otherReleaseId}. */
  public boolean isFor(String otherReleaseId) {
    return releaseId != null && releaseId.equals(otherReleaseId);
  }

  public LocalState withEpoch(long seen) {
    return seen <= epoch ? this : new LocalState(revision, state, releaseId, seen, digest, detail, switchedAt);
  }

  /** Starts taking part in a release: the earlier release's digest, detail and switch time no longer apply. */
  public LocalState enter(String newReleaseId, AgentState newState) {
    return new LocalState(revision, newState, newReleaseId, epoch, null, null, null);
  }

  public LocalState with(AgentState newState) {
    return new LocalState(revision, newState, releaseId, epoch, digest, detail, switchedAt);
  }

  public LocalState withDigest(String newDigest) {
    return new LocalState(revision, state, releaseId, epoch, newDigest, detail, switchedAt);
  }

  public LocalState withDetail(String newDetail) {
    return new LocalState(revision, state, releaseId, epoch, digest, newDetail, switchedAt);
  }

  public LocalState switched(String newRevision, String at) {
    return new LocalState(newRevision, AgentState.SWITCHED, releaseId, epoch, digest, detail, at);
  }

  /**
   * Serving {@code servingReleaseId}'s target revision. Digest and switch time are kept when they belong to
   * that release (a switched agent settling down) and dropped otherwise, so no earlier release's switch time
   * is attributed to it.
   */
  public LocalState servingRelease(String servingReleaseId) {
    boolean same = isFor(servingReleaseId);
    return new LocalState(revision, AgentState.SERVING, servingReleaseId, epoch,
        same ? digest : null, null, same ? switchedAt : null);
  }

  public AgentReport toReport(String id, String service) {
    return new AgentReport(id, service, revision, state, releaseId, epoch, digest, detail, switchedAt);
  }

  /**
   * With readiness mode's answer ({@code ready}, null without it), whether the agent is ephemeral and how often it
   * reports.
   */
  public AgentReport toReport(String id, String service, Boolean ready, boolean ephemeral, java.time.Duration interval) {
    return new AgentReport(id, service, revision, state, releaseId, epoch, digest, detail, switchedAt, ready, ephemeral,
        interval.toMillis());
  }
}
