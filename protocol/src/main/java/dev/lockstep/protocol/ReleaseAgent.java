package dev.lockstep.protocol;

/**
 * One agent's part in a release.
 *
 * @param id the agent
 * @param state its state for this release
 * @param digest the migrations digest it staged, once prepared
 * @param switchedAt when it switched (ISO-8601), once switched; for a retiring instance when it turned un-ready
 * @param detail why its hook failed, if it did; for one that went, how and when
 * @param role how it takes part ({@link ReleaseRole}); {@code in-place} for releases stored before roles existed
 * @param gone an ephemeral agent that left (or fell silent past its liveness timeout) during the release: its pod is
 *     gone, so the release no longer waits for it
 */
public record ReleaseAgent(String id, AgentState state, String digest, String switchedAt, String detail,
                           ReleaseRole role, boolean gone) {

  public ReleaseAgent {
    role = role == null ? ReleaseRole.IN_PLACE : role;
  }

  /** An in-place participant (a long-lived server switching with hooks). */
  public ReleaseAgent(String id, AgentState state, String digest, String switchedAt, String detail) {
    this(id, state, digest, switchedAt, detail, ReleaseRole.IN_PLACE, false);
  }

  /** A participant that has not gone. */
  public ReleaseAgent(String id, AgentState state, String digest, String switchedAt, String detail, ReleaseRole role) {
    this(id, state, digest, switchedAt, detail, role, false);
  }

  /** The same participant, gone: {@code how} says how and when. */
  public ReleaseAgent goneBecause(String how) {
    return new ReleaseAgent(id, state, digest, switchedAt, how, role, true);
  }
}
