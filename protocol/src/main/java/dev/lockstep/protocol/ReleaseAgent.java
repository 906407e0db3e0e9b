package dev.lockstep.protocol;

/**
 * One agent's part in a release.
 *
 * @param id the agent
 * @param state its state for this release
 * @param digest the migrations digest it staged, once prepared
 * @param switchedAt when it switched (ISO-8601), once switched
 * @param detail why its hook failed, if it did
 */
public record ReleaseAgent(String id, AgentState state, String digest, String switchedAt, String detail) {}
