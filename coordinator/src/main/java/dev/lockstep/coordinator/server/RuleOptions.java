package dev.lockstep.coordinator.server;

import dev.lockstep.rules.RuleEngine;
import dev.lockstep.rules.UserRule;
import dev.lockstep.rules.UserRules;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;

/**
 * The repair rules' options: user rules ({@code --rules}) and declared key columns ({@code --primary-key}).
 */
public final class RuleOptions {
  @Option(names = "--rules", defaultValue = "${env:LOCKSTEP_RULES}",
      description = "folder of user rules (*.json: id, severity, message, detect, repair) (env LOCKSTEP_RULES)")
  Path rulesDir;

  @Option(names = "--primary-key", paramLabel = "TABLE=COLUMN", split = ",", defaultValue = "${env:LOCKSTEP_PRIMARY_KEYS}",
      description = "declare the key column of a table that lost its primary key, e.g. public.legacy=code"
          + " (repeatable or comma-separated; env LOCKSTEP_PRIMARY_KEYS)")
  List<String> primaryKeys;


  /** The built-in rules and the user's; a malformed rule file is an error naming the file, before anything connects. */
  RuleEngine rules() {
    List<UserRule> userRules = rulesDir == null ? List.of() : UserRules.load(rulesDir);
    if (!userRules.isEmpty()) {
      LoggerFactory.getLogger(ServeCommand.class).info("loaded {} user rule(s) from {}: {}", userRules.size(), rulesDir,
          userRules.stream().map(UserRule::id).toList());
    }
    return new RuleEngine(userRules);
  }

  /** {@code --primary-key}: table → key column, in the order given. */
  Map<String, String> declaredKeys() {
    Map<String, String> keys = new LinkedHashMap<>();
    for (String pair : primaryKeys == null ? List.<String>of() : primaryKeys) {
      int eq = pair.indexOf('=');
      if (eq <= 0 || eq == pair.length() - 1) {
        throw new IllegalArgumentException("--primary-key takes TABLE=COLUMN, e.g. public.legacy=code (got '" + pair + "')");
      }
      keys.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
    }
    return keys;
  }
}
