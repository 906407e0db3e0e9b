package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Flyway replaces {@code ${name}} placeholders anywhere in a script's text, string literals included;
 * Lockstep runs scripts as written and does not. A script that uses one would do something else under
 * Lockstep than under plain Flyway — even silently, inside a literal — so pre-flight refuses it, for
 * {@code check} and the release alike, naming the script, the line and the placeholder.
 */
final class PlaceholderFindings {
  static final String RULE = "placeholder";
  /** Flyway's default placeholder syntax, matched over raw text as Flyway itself replaces it. */
  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}\\n]*)}");

  private PlaceholderFindings() {}

  static Optional<Finding> of(PendingMigration m) {
    Matcher found = PLACEHOLDER.matcher(m.sql());
    if (!found.find()) {
      return Optional.empty();
    }
    int line = 1 + (int) m.sql().substring(0, found.start()).chars().filter(c -> c == '\n').count();
    return Optional.of(new Finding(RULE, Severity.BLOCK, FlywayFindings.name(m), "migration " + m.label()
        + " (" + m.script() + ") uses the Flyway placeholder " + found.group() + " on line " + line + "; Lockstep runs"
        + " scripts as written and does not replace placeholders, so it would run differently than under Flyway;"
        + " write the value into the script instead", List.of()));
  }
}
