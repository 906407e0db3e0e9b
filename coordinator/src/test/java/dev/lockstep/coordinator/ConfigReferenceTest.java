package dev.lockstep.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.agent.AgentMain;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * The configuration tables of {@code docs/reference.md} are generated from the picocli model of every
 * command: {@code serve}, the agent and the operator CLI. Each option's environment variable and
 * default are read from its {@code defaultValue} ({@code ${env:X:-default}}), its meaning from its
 * description less what the other columns say; environment variables read outside picocli come from
 * {@code logback.xml}. The test fails when a marked region of the file differs from what the model
 * renders now, when a description claims an environment variable or default the option does not have,
 * or when the documentation names a {@code --flag} no command has.
 *
 * <p>Regenerate the regions after changing a flag:
 * <pre>
 * mvn -B test -pl coordinator -am -Dtest=ConfigReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -Dlockstep.writeReference=true
 * </pre>
 */
class ConfigReferenceTest {
  static final String WRITE = "lockstep.writeReference";
  private static final String REGENERATE = "mvn -B test -pl coordinator -am -Dtest=ConfigReferenceTest"
      + " -Dsurefire.failIfNoSpecifiedTests=false -Dlockstep.writeReference=true";
  private static final Pattern ENV = Pattern.compile("\\$\\{env:([A-Za-z0-9_]+)(?::-(.*))?}");
  private static final Pattern PARENTHESES = Pattern.compile(" ?\\(([^()]*)\\)");
  private static final Pattern STATED_ENV = Pattern.compile("(?:env|else) ([A-Z][A-Z0-9_]+)");
  private static final Pattern STATED_DEFAULT = Pattern.compile("default:? (.+)");
  private static final Pattern FLAG = Pattern.compile("(?<![\\w-])--[a-z][a-z0-9-]*");

  /** Where an option's value comes from when the flag is not given. */
  record Source(List<String> env, String fallback) {
    static Source of(String defaultValue) {
      List<String> env = new ArrayList<>();
      String rest = defaultValue;
      Matcher m;
      while (rest != null && (m = ENV.matcher(rest)).matches()) {
        env.add(m.group(1));
        rest = m.group(2);
      }
      return new Source(env, rest);
    }
  }

  @Test
  void theConfigurationTablesAreTheCommandsOwn() throws IOException {
    Path reference = repository().resolve("docs/reference.md");
    String text = Files.readString(reference, StandardCharsets.UTF_8);
    Map<String, String> regions = regions();
    String updated = text;
    for (Map.Entry<String, String> region : regions.entrySet()) {
      updated = replaceRegion(updated, region.getKey(), region.getValue());
    }
    if (Boolean.getBoolean(WRITE)) {
      Files.writeString(reference, updated, StandardCharsets.UTF_8);
      return;
    }
    assertThat(text).as("docs/reference.md's configuration tables differ from the commands' picocli model;"
        + " regenerate them with: " + REGENERATE).isEqualTo(updated);
  }

  @Test
  void descriptionsClaimOnlyTheEnvironmentVariablesAndDefaultsTheOptionsHave() {
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, CommandSpec> command : commands().entrySet()) {
      for (ArgSpec arg : args(command.getValue())) {
        meaning(arg, Source.of(arg.defaultValue()), problems, command.getKey());
      }
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void everyFlagTheDocumentationNamesIsAnOptionOfACommand() throws IOException {
    Set<String> options = new TreeSet<>();
    // Interpolated: the names of --help and --version are variables in picocli's own mixin.
    for (CommandSpec spec : commands(false).values()) {
      spec.options().forEach(o -> {
        options.addAll(List.of(o.names()));
        if (o.negatable()) {
          // A negatable option's other name, e.g. --no-ephemeral for --ephemeral.
          List.of(o.names()).forEach(n -> options.add(n.replaceFirst("^--", "--no-")));
        }
      });
    }
    List<String> unknown = new ArrayList<>();
    for (String doc : List.of("docs/reference.md", "README.md", "agent/README.md")) {
      Matcher m = FLAG.matcher(Files.readString(repository().resolve(doc), StandardCharsets.UTF_8));
      while (m.find()) {
        if (!options.contains(m.group())) {
          unknown.add(doc + ": " + m.group());
        }
      }
    }
    assertThat(unknown).as("flags the documentation names that no command has").isEmpty();
  }

  /** Region name → its generated Markdown. */
  static Map<String, String> regions() throws IOException {
    Map<String, CommandSpec> commands = commands();
    Map<String, String> regions = new LinkedHashMap<>();
    StringBuilder serve = new StringBuilder(table(commands.get("serve"), Set.of()));
    List<String> envOnly = environmentOnly(repository().resolve("coordinator/src/main/resources/logback.xml"));
    if (!envOnly.isEmpty()) {
      serve.append("\nRead from the environment only (`logback.xml`): ").append(String.join(", ", envOnly)).append(".\n");
    }
    regions.put("serve", serve.toString());
    regions.put("agent", table(commands.get("lockstep-agent"), Set.of()));

    CommandSpec client = commands.get("current").mixins().get("options");
    Set<String> common = new TreeSet<>();
    client.options().forEach(o -> common.addAll(List.of(o.names())));
    StringBuilder cli = new StringBuilder("Every command but `serve` takes these:\n\n").append(table(client, Set.of()));
    commands.forEach((name, spec) -> {
      if (name.equals("serve") || name.equals("lockstep-agent")) {
        return;
      }
      cli.append("\n`").append(name).append("`");
      if (args(spec).stream().allMatch(a -> a.isOption() && common.contains(((OptionSpec) a).longestName()))) {
        cli.append(": no options of its own.\n");
      } else {
        cli.append(":\n\n").append(table(spec, common));
      }
    });
    regions.put("cli", cli.toString());
    return regions;
  }

  /** {@code lockstep <command>} for each subcommand, and the agent, by name; variables left as written. */
  static Map<String, CommandSpec> commands() {
    return commands(true);
  }

  private static Map<String, CommandSpec> commands(boolean raw) {
    Map<String, CommandSpec> commands = new LinkedHashMap<>();
    new CommandLine(new LockstepMain()).getSubcommands().forEach((name, cmd) -> commands.put(name, raw(cmd.getCommandSpec(), raw)));
    commands.put("lockstep-agent", raw(new CommandLine(new AgentMain()).getCommandSpec(), raw));
    return commands;
  }

  private static CommandSpec raw(CommandSpec spec, boolean raw) {
    // Uninterpolated, so a default reads ${env:LOCKSTEP_PORT:-7070}, not whatever this machine's environment says.
    spec.interpolateVariables(!raw);
    spec.mixins().values().forEach(m -> m.interpolateVariables(!raw));
    return spec;
  }

  /** The options (less --help and --version) and positional parameters a user gives. */
  private static List<ArgSpec> args(CommandSpec spec) {
    List<ArgSpec> args = new ArrayList<>();
    for (OptionSpec o : spec.options()) {
      if (!o.usageHelp() && !o.versionHelp() && !o.hidden()) {
        args.add(o);
      }
    }
    for (PositionalParamSpec p : spec.positionalParameters()) {
      if (!p.hidden()) {
        args.add(p);
      }
    }
    return args;
  }

  private static String table(CommandSpec spec, Set<String> skip) {
    StringBuilder out = new StringBuilder("| option | environment | default | meaning |\n|---|---|---|---|\n");
    for (ArgSpec arg : args(spec)) {
      if (arg.isOption() && skip.contains(((OptionSpec) arg).longestName())) {
        continue;
      }
      Source source = Source.of(arg.defaultValue());
      String env = source.env().isEmpty() ? "—" : source.env().stream().map(e -> "`" + e + "`")
          .reduce((a, b) -> a + ", else " + b).orElseThrow();
      String fallback = source.fallback() != null ? "`" + source.fallback() + "`"
          : arg.required() ? "required"
          : arg.typeInfo().isBoolean() ? "off"
          : "—";
      out.append("| ").append(cell(name(arg))).append(" | ").append(env).append(" | ").append(fallback).append(" | ")
          .append(cell(meaning(arg, source, new ArrayList<>(), spec.name()))).append(" |\n");
    }
    return out.toString();
  }

  private static String name(ArgSpec arg) {
    if (!arg.isOption()) {
      return "`" + arg.paramLabel() + "` (argument)";
    }
    OptionSpec option = (OptionSpec) arg;
    String label = option.typeInfo().isBoolean() || option.paramLabel().startsWith("<") ? "" : " " + option.paramLabel();
    return "`" + String.join("`, `", option.names()) + label + "`";
  }

  /**
   * The description without the parenthesised remarks that restate the environment and default
   * columns; a remark naming another variable or default is a problem, reported in {@code problems}.
   */
  static String meaning(ArgSpec arg, Source source, List<String> problems, String command) {
    String what = command + " " + (arg.isOption() ? ((OptionSpec) arg).longestName() : arg.paramLabel());
    String text = String.join(" ", arg.description()).replace("${DEFAULT-VALUE}", String.valueOf(source.fallback()));
    Matcher m = PARENTHESES.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      List<String> kept = new ArrayList<>();
      for (String part : m.group(1).split("[;,] ?")) {
        Matcher env = STATED_ENV.matcher(part.trim());
        Matcher fallback = STATED_DEFAULT.matcher(part.trim());
        if (env.matches()) {
          if (!source.env().contains(env.group(1))) {
            problems.add(what + ": its description names " + env.group(1) + " but it reads " + source.env());
          }
        } else if (fallback.matches() && source.fallback() != null) {
          if (!fallback.group(1).replace("`", "").equals(source.fallback())) {
            problems.add(what + ": its description says default " + fallback.group(1) + " but it is " + source.fallback());
          }
        } else {
          kept.add(part.trim());
        }
      }
      String replacement = kept.isEmpty() ? "" : kept.size() == m.group(1).split("[;,] ?").length ? m.group()
          : " (" + String.join("; ", kept) + ")";
      m.appendReplacement(out, Matcher.quoteReplacement(m.start() == 0 ? replacement.stripLeading() : replacement));
    }
    m.appendTail(out);
    return out.toString().trim();
  }

  /** {@code `LOCKSTEP_LOG_LEVEL` (default `INFO`)} for each {@code ${LOCKSTEP_…:-…}} of a logback file. */
  private static List<String> environmentOnly(Path logback) throws IOException {
    Matcher m = Pattern.compile("\\$\\{(LOCKSTEP_[A-Z0-9_]+)(?::-([^}]*))?}").matcher(Files.readString(logback));
    List<String> out = new ArrayList<>();
    while (m.find()) {
      out.add("`" + m.group(1) + "`" + (m.group(2) == null ? "" : " (default `" + m.group(2) + "`)"));
    }
    return out;
  }

  private static String cell(String text) {
    return text.replace("|", "\\|").replace("\n", " ");
  }

  static String replaceRegion(String text, String name, String content) {
    String start = "<!-- config-reference:" + name + ":start -->";
    String end = "<!-- config-reference:" + name + ":end -->";
    int from = text.indexOf(start);
    int to = text.indexOf(end);
    assertThat(from).as("docs/reference.md has no line " + start).isNotNegative();
    assertThat(to).as("docs/reference.md has no line " + end + " after " + start).isGreaterThan(from);
    return text.substring(0, from + start.length()) + "\n<!-- generated from the picocli model by ConfigReferenceTest;"
        + " edit the command's @Option, then: " + REGENERATE + " -->\n" + content + text.substring(to);
  }

  /** The repository's root: the tests run in {@code coordinator/}. */
  static Path repository() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("docs/reference.md")) && Files.isDirectory(dir.resolve("coordinator"))) {
        return dir;
      }
    }
    throw new IllegalStateException("cannot find the repository (docs/reference.md) above " + Path.of("").toAbsolutePath());
  }
}
