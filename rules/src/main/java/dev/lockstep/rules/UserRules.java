package dev.lockstep.rules;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lockstep.protocol.Severity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Loads user rules from a folder ({@code --rules DIR}): every {@code *.json} file is one rule. JSON
 * rather than YAML keeps the rules module on Jackson alone; a {@code .yaml}/{@code .yml} file is refused
 * rather than silently skipped. Other files (a README) are ignored.
 *
 * <pre>{@code
 * {
 *   "id": "no-row-level-security",
 *   "severity": "warn",
 *   "message": "table {object} holds tenant data but has no row level security",
 *   "detect": "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 *              WHERE c.relkind = 'r' AND n.nspname = 'tenant' AND NOT c.relrowsecurity",
 *   "repair": "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"
 * }
 * }</pre>
 *
 * <ul>
 *   <li>{@code id}: kebab-case, unique among all rules, built-in ones included;</li>
 *   <li>{@code severity}: {@code info}, {@code warn} or {@code block};</li>
 *   <li>{@code message}: may use {@code {object}}, {@code {schema}}, {@code {name}}, {@code {detail}};</li>
 *   <li>{@code detect}: one {@code SELECT}/{@code WITH} returning {@code schema, name[, detail]} per object;</li>
 *   <li>{@code repair} (optional, not with {@code block}): a statement or a list of them, using
 *       {@code {schema}}, {@code {name}}, {@code {table}}, which become quoted identifiers
 *       ({@link SqlTemplate}).</li>
 * </ul>
 *
 * <pre>{@code
 * RuleEngine engine = new RuleEngine(UserRules.load(Path.of("/etc/lockstep/rules")));  // RuleFileException if malformed
 * }</pre>
 */
public final class UserRules {
  private static final Set<String> FIELDS = Set.of("id", "severity", "message", "detect", "repair");
  private static final Pattern ID = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)*");
  private static final ObjectMapper JSON = new ObjectMapper();

  private UserRules() {}

  /**
   * The rules of every {@code *.json} file in {@code folder} (not its subfolders), in file name order.
   *
   * @throws RuleFileException naming the file and the problem, for the first file that cannot be used
   */
  public static List<UserRule> load(Path folder) {
    if (!Files.isDirectory(folder)) {
      throw new RuleFileException(folder, "is not a folder; --rules must name a folder of *.json rule files");
    }
    List<Path> files;
    try (Stream<Path> listing = Files.list(folder)) {
      files = listing.filter(Files::isRegularFile).sorted().toList();
    } catch (IOException e) {
      throw new RuleFileException(folder, "cannot be listed: " + e, e);
    }
    Set<String> builtIn = new HashSet<>();
    RuleEngine.loadedRules().forEach(rule -> builtIn.add(rule.id()));
    Map<String, Path> seen = new HashMap<>();
    List<UserRule> rules = new ArrayList<>();
    for (Path file : files) {
      String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
      if (name.endsWith(".yaml") || name.endsWith(".yml")) {
        throw new RuleFileException(file, "rule files are JSON; write this rule as a .json file");
      }
      if (!name.endsWith(".json")) {
        continue;
      }
      UserRule rule = read(file);
      if (builtIn.contains(rule.id())) {
        throw new RuleFileException(file, "id '" + rule.id() + "' is the id of a built-in rule; choose another id");
      }
      Path clash = seen.putIfAbsent(rule.id(), file);
      if (clash != null) {
        throw new RuleFileException(file, "id '" + rule.id() + "' is already used by " + clash + "; ids must be unique");
      }
      rules.add(rule);
    }
    return List.copyOf(rules);
  }

  /** One rule file. */
  static UserRule read(Path file) {
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (JacksonException e) {
      String where = e.getLocation() == null ? ""
          : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
      throw new RuleFileException(file, "is not valid JSON: " + e.getOriginalMessage() + where, e);
    } catch (IOException e) {
      throw new RuleFileException(file, "cannot be read: " + e, e);
    }
    if (root == null || !root.isObject()) {
      throw new RuleFileException(file, "must hold one JSON object with id, severity, message, detect and optionally"
          + " repair");
    }
    for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
      String field = names.next();
      if (!FIELDS.contains(field)) {
        throw new RuleFileException(file, "unknown field '" + field + "'; a rule has id, severity, message, detect"
            + " and repair");
      }
    }
    String id = text(file, root, "id");
    if (!ID.matcher(id).matches()) {
      throw new RuleFileException(file, "id '" + id + "' must be kebab-case, e.g. no-row-level-security");
    }
    Severity severity;
    try {
      severity = Severity.parse(text(file, root, "severity"));
    } catch (IllegalArgumentException e) {
      throw new RuleFileException(file, "severity '" + root.get("severity").asText() + "' is not one of info, warn,"
          + " block", e);
    }
    String message = text(file, root, "message");
    List<String> unknown = UserRule.unknownMessagePlaceholders(message);
    if (!unknown.isEmpty()) {
      throw new RuleFileException(file, "message has unknown placeholder " + String.join(", ", unknown) + "; use "
          + "{object}, {schema}, {name} or {detail}");
    }
    String detect = detect(file, text(file, root, "detect"));
    List<String> repair = repair(file, root.get("repair"));
    if (severity == Severity.BLOCK && !repair.isEmpty()) {
      throw new RuleFileException(file, "a block rule cannot have a repair, since a blocking finding stops the"
          + " release before repairs run; make it warn, or drop the repair");
    }
    return new UserRule(file, id, severity, message, detect, repair);
  }

  private static String text(Path file, JsonNode root, String field) {
    JsonNode value = root.get(field);
    if (value == null || value.isNull()) {
      throw new RuleFileException(file, "missing field '" + field + "'");
    }
    if (!value.isTextual() || value.asText().isBlank()) {
      throw new RuleFileException(file, "field '" + field + "' must be a non-empty string");
    }
    return value.asText();
  }

  /** One SELECT or WITH: a detect query only reads (it also runs read-only, but say so up front). */
  private static String detect(Path file, String sql) {
    List<String> statements = SqlLexer.statements(sql);
    if (statements.size() != 1) {
      throw new RuleFileException(file, "detect must be one statement, not " + statements.size());
    }
    List<String> words = SqlLexer.words(statements.get(0));
    if (words.isEmpty() || !(words.get(0).equals("SELECT") || words.get(0).equals("WITH"))) {
      throw new RuleFileException(file, "detect must be a SELECT or WITH query returning schema, name[, detail]");
    }
    return statements.get(0);
  }

  private static List<String> repair(Path file, JsonNode value) {
    if (value == null || value.isNull()) {
      return List.of();
    }
    List<String> statements = new ArrayList<>();
    if (value.isTextual()) {
      statements.add(value.asText());
    } else if (value.isArray()) {
      value.forEach(element -> {
        if (!element.isTextual()) {
          throw new RuleFileException(file, "repair must be a string or a list of strings");
        }
        statements.add(element.asText());
      });
    } else {
      throw new RuleFileException(file, "repair must be a string or a list of strings");
    }
    for (String statement : statements) {
      try {
        SqlTemplate.parse(statement);
      } catch (IllegalArgumentException e) {
        throw new RuleFileException(file, "repair " + e.getMessage(), e);
      }
    }
    return statements;
  }
}
