package dev.lockstep.rules;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class UserRulesTest {
  private static final String HOSTILE = "x\"; DROP TABLE y; --";
  private static final String NO_RLS = """
      {
        "id": "no-row-level-security",
        "severity": "warn",
        "message": "table {object} holds tenant data ({detail}) but has no row level security",
        "detect": "SELECT n.nspname, c.relname, 'owner ' || pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'tenant' AND NOT c.relrowsecurity ORDER BY 2",
        "repair": ["ALTER TABLE {table} ENABLE ROW LEVEL SECURITY", "COMMENT ON TABLE {schema}.{name} IS 'rls on'"]
      }
      """;

  @RegisterExtension
  static final RuleTestDatabase db = RuleTestDatabase.perClass().emptiedBeforeEach("tenant");

  @TempDir
  Path folder;

  @BeforeEach
  void tenantTables() {
    db.execute("CREATE SCHEMA tenant; CREATE TABLE y (id int PRIMARY KEY);"
        + " CREATE TABLE tenant.invoice (id int PRIMARY KEY);"
        + " CREATE TABLE tenant." + Sql.quoteIdent(HOSTILE) + " (id int PRIMARY KEY)");
  }

  @Test
  void aRuleFileIsDetectedAndRepairedWithEveryNameQuoted() throws IOException, SQLException {
    write("no-rls.json", NO_RLS);
    write("README.md", "# our rules");
    List<UserRule> rules = UserRules.load(folder);
    assertThat(rules).singleElement().satisfies(rule -> {
      assertThat(rule.id()).isEqualTo("no-row-level-security");
      assertThat(rule.file()).isEqualTo(folder.resolve("no-rls.json"));
      assertThat(rule.severity()).isEqualTo(Severity.WARN);
    });
    RuleEngine engine = new RuleEngine(rules);
    assertThat(engine.rules()).last().isSameAs(rules.get(0));

    List<Finding> findings = findings(engine);
    assertThat(findings).containsExactly(
        new Finding("no-row-level-security", Severity.WARN, "tenant.invoice",
            "table tenant.invoice holds tenant data (owner postgres) but has no row level security",
            List.of("ALTER TABLE \"tenant\".\"invoice\" ENABLE ROW LEVEL SECURITY",
                "COMMENT ON TABLE \"tenant\".\"invoice\" IS 'rls on'")),
        new Finding("no-row-level-security", Severity.WARN, "tenant." + HOSTILE,
            "table tenant." + HOSTILE + " holds tenant data (owner postgres) but has no row level security",
            List.of("ALTER TABLE \"tenant\".\"x\"\"; DROP TABLE y; --\" ENABLE ROW LEVEL SECURITY",
                "COMMENT ON TABLE \"tenant\".\"x\"\"; DROP TABLE y; --\" IS 'rls on'")));

    db.applyAndCommit(engine, findings);
    assertThat(findings(engine)).isEmpty();
    assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'y'")).isEqualTo(1); // not dropped
    assertThat(db.queryLong("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        + " WHERE n.nspname = 'tenant' AND c.relrowsecurity")).isEqualTo(2);
  }

  @Test
  void aDetectQueryThatFailsBlocksAndLeavesTheCallersTransactionUsable() throws IOException, SQLException {
    write("broken.json", """
        {"id": "broken", "severity": "info", "message": "{object}", "detect": "SELECT nspname, relname FROM nowhere"}
        """);
    write("narrow.json", """
        {"id": "narrow", "severity": "info", "message": "{object}", "detect": "SELECT 'only one column'"}
        """);
    RuleEngine engine = new RuleEngine(UserRules.load(folder));
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      List<Finding> blocking = engine.inspect(connection).blocking();
      assertThat(blocking).extracting(Finding::rule).containsExactly("broken", "narrow");
      assertThat(blocking.get(0).message()).contains("relation \"nowhere\" does not exist");
      assertThat(blocking.get(1).message()).contains("the detect query of " + folder.resolve("narrow.json")
          + " returns 1 column(s); it must return schema, name and optionally a detail");
      connection.commit();
    }
  }

  static Stream<Arguments> malformed() {
    String detect = "\"detect\": \"SELECT nspname, relname FROM pg_class c JOIN pg_namespace n ON n.oid = relnamespace\"";
    return Stream.of(
        Arguments.of("{\"id\": \"x\", ", "is not valid JSON: Unexpected end-of-input"),
        Arguments.of("[1, 2]", "must hold one JSON object with id, severity, message, detect and optionally repair"),
        Arguments.of("{\"id\": \"x\", \"severity\": \"warn\", \"message\": \"m\"}", "missing field 'detect'"),
        Arguments.of("{\"id\": \"x\", \"severity\": \"warn\", \"message\": 42, " + detect + "}",
            "field 'message' must be a non-empty string"),
        Arguments.of("{\"id\": \"x\", \"severity\": \"fatal\", \"message\": \"m\", " + detect + "}",
            "severity 'fatal' is not one of info, warn, block"),
        Arguments.of("{\"id\": \"No_Rls\", \"severity\": \"warn\", \"message\": \"m\", " + detect + "}",
            "id 'No_Rls' must be kebab-case, e.g. no-row-level-security"),
        Arguments.of("{\"id\": \"x\", \"severity\": \"warn\", \"message\": \"m\", \"reapir\": \"x\", " + detect + "}",
            "unknown field 'reapir'; a rule has id, severity, message, detect and repair"),
        Arguments.of("{\"id\": \"x\", \"severity\": \"warn\", \"message\": \"on {table}\", " + detect + "}",
            "message has unknown placeholder {table}; use {object}, {schema}, {name} or {detail}"),
        Arguments.of("{\"id\": \"x\", \"severity\": \"warn\", \"message\": \"m\", "
                + "\"detect\": \"DELETE FROM y RETURNING 'public', 'y'\"}",
            "detect must be a SELECT or WITH query returning schema, name[, detail]"),
        Arguments.of("{\"id\": \"x\", \"severity\": \"warn\", \"message\": \"m\", "
                + "\"detect\": \"SELECT 'public', 'y'; DROP TABLE y\"}", "detect must be one statement, not 2"),
        Arguments.of("{\"id\": \"x\", \"severity\": \"warn\", \"message\": \"m\", " + detect
                + ", \"repair\": \"ALTER TABLE {tabel} ADD x int\"}",
            "repair has unknown placeholder {tabel}; use {schema}, {name} or {table}"),
        Arguments.of("{\"id\": \"x\", \"severity\": \"warn\", \"message\": \"m\", " + detect
                + ", \"repair\": \"SELECT setval('{name}_id_seq', 1)\"}",
            "repair has placeholder {name} inside a string literal; placeholders become quoted identifiers, which are"
                + " only safe where an identifier stands"),
        Arguments.of("{\"id\": \"x\", \"severity\": \"warn\", \"message\": \"m\", " + detect + ", \"repair\": [1]}",
            "repair must be a string or a list of strings"),
        Arguments.of("{\"id\": \"x\", \"severity\": \"block\", \"message\": \"m\", " + detect
                + ", \"repair\": \"VACUUM {table}\"}",
            "a block rule cannot have a repair, since a blocking finding stops the release before repairs run; make"
                + " it warn, or drop the repair"),
        Arguments.of("{\"id\": \"missing-primary-key\", \"severity\": \"warn\", \"message\": \"m\", " + detect + "}",
            "id 'missing-primary-key' is the id of a built-in rule; choose another id"));
  }

  @ParameterizedTest
  @MethodSource("malformed")
  void aMalformedRuleFileIsRefusedWithItsPathAndTheProblem(String content, String problem) throws IOException {
    Path file = write("rule.json", content);
    assertThatThrownBy(() -> UserRules.load(folder))
        .isInstanceOf(RuleFileException.class)
        .hasMessageStartingWith("rule file " + file + ": " + problem)
        .satisfies(e -> {
          assertThat(((RuleFileException) e).path()).isEqualTo(file);
          assertThat(((RuleFileException) e).problem()).startsWith(problem);
        });
  }

  @Test
  void refusesTwoFilesWithOneIdYamlFilesAndAMissingFolder() throws IOException {
    String rule = "{\"id\": \"same\", \"severity\": \"info\", \"message\": \"m\", \"detect\": \"SELECT 'a', 'b'\"}";
    Path first = write("a.json", rule);
    Path second = write("b.json", rule);
    assertThatThrownBy(() -> UserRules.load(folder)).isInstanceOf(RuleFileException.class)
        .hasMessage("rule file " + second + ": id 'same' is already used by " + first + "; ids must be unique");

    Files.delete(second);
    Path yaml = write("c.yaml", "id: other");
    assertThatThrownBy(() -> UserRules.load(folder))
        .hasMessage("rule file " + yaml + ": rule files are JSON; write this rule as a .json file");

    Path missing = folder.resolve("nowhere");
    assertThatThrownBy(() -> UserRules.load(missing)).isInstanceOf(RuleFileException.class)
        .hasMessage("rule file " + missing + ": is not a folder; --rules must name a folder of *.json rule files");
  }

  private List<Finding> findings(RuleEngine engine) throws SQLException {
    return db.findings(engine, "no-row-level-security");
  }

  private Path write(String name, String content) throws IOException {
    return Files.writeString(folder.resolve(name), content);
  }
}
