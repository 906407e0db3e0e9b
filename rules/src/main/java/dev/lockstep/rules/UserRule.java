package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.CatalogSnapshot.TableName;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A rule written as a file and loaded by {@link UserRules}: a detect query returning the offending
 * objects as rows of {@code (schema, name[, detail])}, a message, a severity, and an optional repair
 * template. The detect query runs like any rule's, in a read-only transaction or a savepoint that is
 * rolled back, so it cannot change anything.
 *
 * <pre>{@code
 * Rule rule = UserRules.load(Path.of("rules")).get(0);
 * rule.inspect(CatalogSnapshot.read(connection), connection);
 * // [Finding[rule=no-rls, severity=WARN, object=public.invoice, message=table public.invoice has no row level
 * //   security, repair=[ALTER TABLE "public"."invoice" ENABLE ROW LEVEL SECURITY]]]
 * }</pre>
 *
 * @param file where it was defined, named in errors
 * @param message with {@code {object}} ({@code schema.name}), {@code {schema}}, {@code {name}}, {@code {detail}}
 * @param detect one {@code SELECT} or {@code WITH} statement
 * @param repair statements run for each object found; empty if none
 */
public record UserRule(Path file, String id, Severity severity, String message, String detect,
    List<String> repair) implements Rule {
  static final List<String> MESSAGE_PLACEHOLDERS = List.of("object", "schema", "name", "detail");
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z_][A-Za-z0-9_]*)}");

  public UserRule {
    repair = List.copyOf(repair);
  }

  @Override
  public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection) throws SQLException {
    List<SqlTemplate> templates = repair.stream().map(SqlTemplate::parse).toList();
    List<Finding> findings = new ArrayList<>();
    try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(detect)) {
      int columns = rows.getMetaData().getColumnCount();
      if (columns < 2) {
        throw new IllegalStateException("the detect query of " + file + " returns " + columns + " column(s); it must"
            + " return schema, name and optionally a detail");
      }
      while (rows.next()) {
        String schema = rows.getString(1);
        String name = rows.getString(2);
        if (schema == null || name == null) {
          throw new IllegalStateException("the detect query of " + file + " returned a row without a schema or name");
        }
        TableName object = new TableName(schema, name);
        String detail = columns > 2 ? rows.getString(3) : null;
        findings.add(new Finding(id, severity, object.toString(), message(object, detail),
            templates.stream().map(template -> template.render(object)).toList()));
      }
    }
    return findings;
  }

  private String message(TableName object, String detail) {
    Map<String, String> values = Map.of("object", object.toString(), "schema", object.schema(), "name", object.name(),
        "detail", detail == null ? "" : detail);
    Matcher placeholder = PLACEHOLDER.matcher(message);
    StringBuilder text = new StringBuilder();
    while (placeholder.find()) {
      String value = values.get(placeholder.group(1));
      placeholder.appendReplacement(text, Matcher.quoteReplacement(value == null ? placeholder.group() : value));
    }
    placeholder.appendTail(text);
    return text.toString();
  }

  /** The placeholders in a message that {@link #message} would not fill. */
  static List<String> unknownMessagePlaceholders(String message) {
    List<String> unknown = new ArrayList<>();
    Matcher placeholder = PLACEHOLDER.matcher(message);
    while (placeholder.find()) {
      if (!MESSAGE_PLACEHOLDERS.contains(placeholder.group(1))) {
        unknown.add(placeholder.group());
      }
    }
    return unknown;
  }
}
