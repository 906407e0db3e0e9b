package dev.lockstep.coordinator.http;

import dev.lockstep.coordinator.error.LockstepException;
import java.util.regex.Pattern;

/**
 * What the names that arrive in paths, query strings and bodies may be: service names, agent ids,
 * release ids, revisions. Checked at the edge, so that no store, key, log line or terminal ever sees
 * a control character or a megabyte of id; the error names the field, the bad value (printably) and
 * what would do.
 *
 * <pre>{@code String service = Names.service("query parameter service", ctx.request().getParam("service"));}</pre>
 */
final class Names {
  static final int MAX_ID = 128;
  static final int MAX_REVISION = 200;
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:@-]+");
  private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9._:/@+-]+");
  private static final String ID_CHARS = "letters, digits or . _ : @ -";

  private Names() {}

  /** A service name: 1–128 of letters, digits and {@code . _ : @ -}. */
  static String service(String what, String value) {
    return check(what, value, ID, MAX_ID, ID_CHARS);
  }

  /** An agent id, same form as a service name (the default is a host name). */
  static String agentId(String what, String value) {
    return check(what, value, ID, MAX_ID, ID_CHARS);
  }

  /** A release id ({@code r-20260101-120000-1a2b}); same characters, so a malformed one is a 400, not a lookup. */
  static String releaseId(String what, String value) {
    return check(what, value, ID, MAX_ID, ID_CHARS);
  }

  /** A code revision: as a release request takes it, plus {@code /} and {@code +} (git refs, semver builds). */
  static String revision(String what, String value) {
    return check(what, value, REVISION, MAX_REVISION, "letters, digits or . _ : / @ + -");
  }

  /** {@code value} as it can be shown in an error or a log line: controls escaped, at most 60 characters. */
  static String printable(String value) {
    StringBuilder out = new StringBuilder();
    value.codePoints().limit(60).forEach(c -> out.append(Character.isISOControl(c) ? String.format("\\u%04x", c)
        : Character.toString(c)));
    return value.codePointCount(0, value.length()) > 60 ? out + "…" : out.toString();
  }

  private static String check(String what, String value, Pattern form, int max, String allowed) {
    if (value == null || value.isEmpty()) {
      throw LockstepException.badRequest(what + " is missing; give 1–" + max + " " + allowed);
    }
    int control = value.codePoints().filter(Character::isISOControl).findFirst().orElse(-1);
    if (control >= 0) {
      throw LockstepException.badRequest(what + " '" + printable(value) + "' contains a control character ("
          + String.format("U+%04X", control) + "); use " + allowed);
    }
    if (value.length() > max) {
      throw LockstepException.badRequest(what + " '" + printable(value) + "' is " + value.length()
          + " characters; at most " + max);
    }
    if (!form.matcher(value).matches()) {
      throw LockstepException.badRequest(what + " '" + printable(value) + "' may only contain " + allowed);
    }
    return value;
  }
}
