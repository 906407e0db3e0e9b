package dev.lockstep.rules;

import dev.lockstep.rules.CatalogSnapshot.TableName;
import dev.lockstep.rules.SqlLexer.Kind;
import dev.lockstep.rules.SqlLexer.Span;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A user rule's repair template: SQL with the placeholders {@code {schema}}, {@code {name}} and
 * {@code {table}} (= {@code {schema}.{name}}), which become quoted identifiers and nothing else, so
 * that an object named {@code x"; DROP TABLE y; --} stays one identifier. Placeholders are only
 * accepted where PostgreSQL reads code: inside a string literal, a quoted name or a comment a quoted
 * identifier would not be safe (a {@code '} in the name would end the literal), so the template is
 * refused. Anything else in braces that looks like a placeholder is refused as unknown.
 *
 * <pre>{@code
 * SqlTemplate template = SqlTemplate.parse("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY");
 * template.render(new TableName("public", "x\"; DROP TABLE y; --"));
 * // ALTER TABLE "public"."x""; DROP TABLE y; --" ENABLE ROW LEVEL SECURITY
 * }</pre>
 */
final class SqlTemplate {
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z_][A-Za-z0-9_]*)}");
  private static final Map<String, Function<TableName, String>> VALUES = Map.of(
      "schema", name -> Sql.quoteIdent(name.schema()),
      "name", name -> Sql.quoteIdent(name.name()),
      "table", TableName::quoted);

  /** Literal SQL, or a placeholder's name (then {@code placeholder} is true). */
  private record Part(String text, boolean placeholder) {}

  private final List<Part> parts;

  private SqlTemplate(List<Part> parts) {
    this.parts = List.copyOf(parts);
  }

  /** @throws IllegalArgumentException saying what is wrong, for the caller to put in a {@link RuleFileException} */
  static SqlTemplate parse(String sql) {
    if (sql.isBlank()) {
      throw new IllegalArgumentException("is empty");
    }
    List<Part> parts = new ArrayList<>();
    for (Span span : SqlLexer.spans(sql)) {
      String text = span.text(sql);
      if (!span.closed()) {
        throw new IllegalArgumentException("has an unterminated " + describe(span.kind()) + ": " + text);
      }
      if (span.kind() != Kind.CODE) {
        Matcher inside = PLACEHOLDER.matcher(text);
        while (inside.find()) {
          if (VALUES.containsKey(inside.group(1))) {
            throw new IllegalArgumentException("has placeholder " + inside.group() + " inside a " + describe(span.kind())
                + "; placeholders become quoted identifiers, which are only safe where an identifier stands");
          }
        }
        parts.add(new Part(text, false));
        continue;
      }
      Matcher placeholder = PLACEHOLDER.matcher(text);
      int at = 0;
      while (placeholder.find()) {
        if (!VALUES.containsKey(placeholder.group(1))) {
          throw new IllegalArgumentException("has unknown placeholder " + placeholder.group() + "; use {schema}, {name}"
              + " or {table}");
        }
        parts.add(new Part(text.substring(at, placeholder.start()), false));
        parts.add(new Part(placeholder.group(1), true));
        at = placeholder.end();
      }
      parts.add(new Part(text.substring(at), false));
    }
    return new SqlTemplate(parts);
  }

  /** The SQL for one object: each placeholder replaced by its quoted identifier. */
  String render(TableName object) {
    StringBuilder sql = new StringBuilder();
    for (Part part : parts) {
      sql.append(part.placeholder() ? VALUES.get(part.text()).apply(object) : part.text());
    }
    return sql.toString();
  }

  private static String describe(Kind kind) {
    return switch (kind) {
      case STRING -> "string literal";
      case QUOTED_IDENTIFIER -> "quoted name";
      case DOLLAR_STRING -> "dollar-quoted string";
      case COMMENT -> "comment";
      case CODE -> "statement";
    };
  }
}
