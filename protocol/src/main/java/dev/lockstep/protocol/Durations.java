package dev.lockstep.protocol;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people write them, one rule for the coordinator, the agent and the API: a whole number and
 * a unit, {@code ms}, {@code s}, {@code m} or {@code h} ({@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h};
 * the unit in either case), or a bare number, read as seconds. Never negative, and at most {@link #MAX} (a
 * week): anything longer is a typo, and bounding it here keeps {@code 9999999999999999h} from overflowing
 * into an {@code ArithmeticException} deep in a caller. Zero is a duration; a caller for which it means
 * nothing asks for {@link #positive}. Ages ({@code lockstep prune --older-than 30d}) also take days:
 * {@link #parseAge}.
 *
 * <pre>{@code
 * Duration wait = Durations.parse("30s");             // also "30"
 * Duration timeout = Durations.positive("2m");        // "0s" refused
 * Durations.format(Duration.ofMillis(65_000));         // "1m05s", for people
 * Durations.exact(Duration.ofMillis(1500));            // "1500ms", which parse reads back
 * }</pre>
 */
public final class Durations {
  /** The longest duration {@link #parse} accepts. */
  public static final Duration MAX = Duration.ofDays(7);
  /** The longest age {@link #parseAge} accepts: ten years. */
  public static final Duration MAX_AGE = Duration.ofDays(3650);
  private static final Pattern FORM = Pattern.compile("(\\d+)\\s*(ms|s|m|h)?");
  private static final Pattern AGE_FORM = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?");

  private Durations() {}

  /** The duration {@code text} names; {@link IllegalArgumentException} naming the text and what works if it is not one. */
  public static Duration parse(String text) {
    return parse(text, FORM, MAX, "write it like 500ms, 30s or 2m: a whole number and ms, s, m or h", "168h");
  }

  /** As {@link #parse}, and zero is refused too: for timeouts and intervals, where nothing can happen in no time. */
  public static Duration positive(String text) {
    Duration duration = parse(text);
    if (duration.isZero()) {
      throw new IllegalArgumentException("'" + printable(text) + "' is zero; give a positive duration such as 30s");
    }
    return duration;
  }

  /**
   * How old something is ({@code lockstep prune --older-than 30d}): as {@link #parse}, and also in days,
   * up to {@link #MAX_AGE}. Ages run to days where a timeout past a week is a typo.
   */
  public static Duration parseAge(String text) {
    return parse(text, AGE_FORM, MAX_AGE, "write it like 12h or 30d: a whole number and ms, s, m, h or d",
        MAX_AGE.toDays() + "d");
  }

  private static Duration parse(String text, Pattern form, Duration max, String howTo, String most) {
    String shown = text == null ? "nothing" : "'" + printable(text) + "'";
    Matcher m = form.matcher(text == null ? "" : text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("cannot read duration " + shown + "; " + howTo
          + " (a bare number is seconds; not negative, at most " + most + ")");
    }
    String unit = m.group(2) == null ? "s" : m.group(2);
    long unitMillis = switch (unit) {
      case "ms" -> 1;
      case "m" -> 60_000;
      case "h" -> 3_600_000;
      case "d" -> 86_400_000;
      default -> 1000;
    };
    // Compared in the caller's unit before any multiplication, so no amount can overflow.
    String digits = m.group(1).replaceFirst("^0+(?=\\d)", "");
    if (digits.length() > 18 || Long.parseLong(digits) > max.toMillis() / unitMillis) {
      throw new IllegalArgumentException("duration " + shown + " is longer than the most accepted, " + most);
    }
    return Duration.ofMillis(Long.parseLong(digits) * unitMillis);
  }

  private static String printable(String text) {
    StringBuilder out = new StringBuilder();
    text.codePoints().limit(40).forEach(c -> out.append(Character.isISOControl(c) ? String.format("\\u%04x", c) : Character.toString(c)));
    return text.length() > 40 ? out + "…" : out.toString();
  }

  /** Compact human form, for log lines and messages: {@code 850ms}, {@code 12.3s}, {@code 4m05s}, {@code 2h00m}. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms < 1000) {
      return ms + "ms";
    }
    if (ms < 60_000) {
      return String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
    }
    if (ms < 3_600_000) {
      return String.format(Locale.ROOT, "%dm%02ds", ms / 60_000, (ms / 1000) % 60);
    }
    return String.format(Locale.ROOT, "%dh%02dm", ms / 3_600_000, (ms / 60_000) % 60);
  }

  /** The shortest exact form in seconds or milliseconds, which {@link #parse} reads back: {@code 60s}, {@code 500ms}, {@code 1500ms}. */
  public static String exact(Duration duration) {
    long ms = duration.toMillis();
    return ms % 1000 == 0 ? (ms / 1000) + "s" : ms + "ms";
  }
}
