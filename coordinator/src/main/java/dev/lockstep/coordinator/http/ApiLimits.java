package dev.lockstep.coordinator.http;

import java.time.Duration;

/**
 * The limits the API holds callers to (docs/reference.md, "Limits"), from {@code serve}'s flags.
 * Header and body sizes are fixed ({@link ApiServer#MAX_HEADER_BYTES}, {@link HttpApi#BODY_LIMIT}); these
 * are the ones an operator may need to change.
 *
 * @param authFailures failed authentications one remote address may make at once before its requests
 *     with a token get 429 ({@code --auth-failures})
 * @param authFailureWindow the time in which an address earns back {@code authFailures} attempts
 *     ({@code --auth-failure-window})
 * @param maxEventStreams release event streams one identity may hold open ({@code --max-event-streams})
 * @param maxLongPolls blocking desired-state queries one identity may hold open ({@code --max-long-polls})
 */
public record ApiLimits(int authFailures, Duration authFailureWindow, int maxEventStreams, int maxLongPolls) {
  public static final ApiLimits DEFAULT = new ApiLimits(10, Duration.ofMinutes(1), 8, 2);

  public ApiLimits {
    positive("--auth-failures", authFailures);
    positive("--max-event-streams", maxEventStreams);
    positive("--max-long-polls", maxLongPolls);
    if (authFailureWindow.isZero() || authFailureWindow.isNegative()) {
      throw new IllegalArgumentException("--auth-failure-window must be longer than 0 (got " + authFailureWindow + ")");
    }
  }

  private static void positive(String flag, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(flag + " must be at least 1 (got " + value + ")");
    }
  }
}
