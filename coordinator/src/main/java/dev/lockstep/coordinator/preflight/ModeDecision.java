package dev.lockstep.coordinator.preflight;

import dev.lockstep.protocol.Mode;

/** The mode a release runs in (online or maintenance, never auto) and the reason, said to the operator. */
public record ModeDecision(Mode mode, String reason) {}
