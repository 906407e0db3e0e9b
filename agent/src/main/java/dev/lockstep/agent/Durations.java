package dev.lockstep.agent;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people write them on a command line: {@code 500ms}, {@code 30s}, {@code 2m}.
 *
 * <pre>{@code Duration timeout = Durations.parse("30s"); Durations.format(timeout); // "30s"}</pre>
 */
public final class Durations {
  private static final Pattern TEXT = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

  private Durations() {}

  /** Parses {@code <number><ms|s|m|h>}; anything else raises {@link IllegalArgumentException} saying what works. */
  public static Duration parse(String text) {
    Matcher m = TEXT.matcher(text == null ? "" : text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("'" + text + "' is not a duration; write it like 500ms, 30s or 2m");
    }
    long amount = Long.parseLong(m.group(1));
    Duration duration = switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(amount);
      case "s" -> Duration.ofSeconds(amount);
      case "m" -> Duration.ofMinutes(amount);
      default -> Duration.ofHours(amount);
    };
    if (duration.isZero()) {
      throw new IllegalArgumentException("'" + text + "' is zero; give a positive duration such as 30s");
    }
    return duration;
  }

  /** The shortest exact form in seconds or milliseconds: {@code 60s}, {@code 500ms}, {@code 1500ms}. */
  public static String format(Duration duration) {
    long ms = duration.toMillis();
    return ms % 1000 == 0 ? (ms / 1000) + "s" : ms + "ms";
  }

  /** Elapsed time for log lines, one decimal: {@code 1.2s}, {@code 35ms}. */
  public static String elapsed(Duration duration) {
    long ms = duration.toMillis();
    return ms < 1000 ? ms + "ms" : String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
  }
}
