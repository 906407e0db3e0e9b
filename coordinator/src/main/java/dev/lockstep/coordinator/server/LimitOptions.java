package dev.lockstep.coordinator.server;

import dev.lockstep.coordinator.http.ApiLimits;
import dev.lockstep.protocol.Durations;
import picocli.CommandLine.Option;

/**
 * What one caller may ask of the API ({@code docs/reference.md}, "Limits").
 */
public final class LimitOptions {
  @Option(names = "--auth-failures", defaultValue = "${env:LOCKSTEP_AUTH_FAILURES:-10}",
      description = "failed authentications one remote address may make before its requests with a token get 429,"
          + " earned back evenly over --auth-failure-window (default 10)")
  int authFailures;

  @Option(names = "--auth-failure-window", defaultValue = "${env:LOCKSTEP_AUTH_FAILURE_WINDOW:-1m}",
      description = "the time in which an address earns back --auth-failures attempts (default 1m)")
  String authFailureWindow;

  @Option(names = "--max-event-streams", defaultValue = "${env:LOCKSTEP_MAX_EVENT_STREAMS:-8}",
      description = "release event streams one identity may hold open at once; more are refused with 429 (default 8)")
  int maxEventStreams;

  @Option(names = "--max-long-polls", defaultValue = "${env:LOCKSTEP_MAX_LONG_POLLS:-2}",
      description = "blocking desired-state queries one identity may hold open at once; more are refused with 429"
          + " (default 2)")
  int maxLongPolls;


  ApiLimits limits() {
    return new ApiLimits(authFailures, Durations.parse(authFailureWindow), maxEventStreams, maxLongPolls);
  }
}
