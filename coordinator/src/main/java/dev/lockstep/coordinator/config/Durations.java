package dev.lockstep.coordinator.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the short durations people type: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}. Never
 * negative, and at most {@link #MAX} (a week): anything longer is a typo, and bounding it here keeps
 * {@code 9999999999999999h} from overflowing into an {@code ArithmeticException} deep in a caller.
 *
 * <pre>{@code Duration wait = Durations.parse("30s");}</pre>
 */
public final class Durations {
  /** The longest duration accepted anywhere. */
  public static final Duration MAX = Duration.ofDays(7);
  /** The longest age {@link #parseAge} accepts: ten years. */
  public static final Duration MAX_AGE = Duration.ofDays(3650);
  private static final Pattern FORM = Pattern.compile("(\\d+)\\s*(ms|s|m|h)?");
  private static final Pattern AGE_FORM = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?");

  private Durations() {}

  /** The duration {@code text} names; {@link IllegalArgumentException} naming the text if it is not one. */
  public static Duration parse(String text) {
    return parse(text, FORM, MAX, "e.g. 500ms, 30s, 5m", format(MAX));
  }

  /**
   * How old something is ({@code lockstep prune --older-than 30d}): as {@link #parse}, and also in days,
   * up to {@link #MAX_AGE}. Ages run to days where a timeout past a week is a typo.
   */
  public static Duration parseAge(String text) {
    return parse(text, AGE_FORM, MAX_AGE, "e.g. 12h, 30d", MAX_AGE.toDays() + "d");
  }

  private static Duration parse(String text, Pattern form, Duration max, String examples, String most) {
    String shown = text == null ? "nothing" : "'" + printable(text) + "'";
    Matcher m = form.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("cannot read duration " + shown
          + "; use a whole number and a unit, " + examples + " (not negative, at most " + most + ")");
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

  /** Compact human form: 850ms, 12.3s, 4m05s. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms < 1000) {
      return ms + "ms";
    }
    if (ms < 60_000) {
      return String.format("%.1fs", ms / 1000.0);
    }
    if (ms < 3_600_000) {
      return String.format("%dm%02ds", ms / 60_000, (ms / 1000) % 60);
    }
    return String.format("%dh%02dm", ms / 3_600_000, (ms / 60_000) % 60);
  }
}
