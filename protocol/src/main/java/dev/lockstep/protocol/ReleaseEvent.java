package dev.lockstep.protocol;

/**
 * One line of a release's event log, streamed by {@code GET /v1/releases/{id}/events}.
 *
 * @param releaseId the release
 * @param seq position in the log, from 1
 * @param at when (ISO-8601)
 * @param phase the release's phase at that moment
 * @param message what happened
 */
public record ReleaseEvent(String releaseId, long seq, String at, Phase phase, String message) {}
