package dev.lockstep.protocol;

/** A migration a release applied (or undid): version, description, script, execution time. */
public record AppliedMigration(String version, String description, String script, long executionMs) {}
