package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.BaselineReport;
import dev.lockstep.protocol.BaselineRequest;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationsDigest;
import java.io.Console;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lockstep baseline --schema V [--yes] [--dry-run]}: adopts a database that has tables but no history
 * (like {@code alembic stamp}, {@code flyway baseline}) by recording V as applied without running it. Never
 * silent: it first shows what is there (a dry run of {@code POST /v1/baseline}), then asks; without a terminal
 * it refuses unless {@code --yes} says the report was read.
 */
@Command(name = "baseline", mixinStandardHelpOptions = true,
    description = {"Adopt a database that already has tables but no migration history (like `alembic stamp`, `flyway baseline`):"
        + " record V as applied without running it, after showing what is there.",
        "Shows the application's tables and, for each migration, the objects it would create and whether they exist, then"
        + " asks before it records anything. Without a terminal it refuses (exit 2) unless --yes is given."})
public final class BaselineCommand implements Callable<Integer> {
  @Mixin
  ClientOptions options;

  @Option(names = "--schema", required = true, paramLabel = "V", description = "the version the database already has: recorded as applied, not run")
  String schema;


  @Option(names = "--migrations", paramLabel = "DIR",
      description = "compare with this folder's migration set, uploaded; default: the coordinator's --migrations folder")
  Path migrations;

  @Option(names = "--dry-run", description = "show what is there and what the baseline would mean; record nothing")
  boolean dryRun;

  @Option(names = "--yes", description = "record it without asking (after reading the report, e.g. of --dry-run)")
  boolean yes;

  @Override
  public Integer call() {
    PrintStream out = System.out;
    ApiClient api = options.client();
    Map<String, String> upload = migrations == null ? null : FolderUpload.read(migrations, options.json ? System.err : out);
    BaselineReport report = api.post("/v1/baseline", new BaselineRequest(options.service, schema, true, upload), BaselineReport.class);
    if (!(options.json && yes && !dryRun)) {
      show(out, report);
    }
    if (dryRun) {
      return 0;
    }
    String what = "record schema " + schema + " of service " + report.service() + " as applied without running "
        + covered(report);
    if (!yes) {
      Console console = terminal();
      if (console == null) {
        throw new CliException(2, "no terminal to confirm on: read the report above, then run again with --yes to " + what);
      }
      String answer = console.readLine("%s? Type yes to confirm: ", capitalized(what));
      if (answer == null || !answer.trim().equalsIgnoreCase("yes")) {
        System.err.println("lockstep: not confirmed; nothing was recorded");
        return 1;
      }
    }
    BaselineReport recorded = api.post("/v1/baseline", new BaselineRequest(options.service, schema, false, upload), BaselineReport.class);
    if (options.json) {
      out.println(Json.write(recorded));
    } else {
      out.printf("baseline recorded: service %s at schema %s, by %s from %s at %s; a release now applies only what comes"
              + " after %s%n", recorded.service(), recorded.baseline().version(), recorded.baseline().requestedBy(),
          recorded.baseline().caller(), recorded.baseline().at(), recorded.baseline().version());
    }
    return 0;
  }

  private void show(PrintStream out, BaselineReport report) {
    if (options.json) {
      out.println(Json.write(report));
      return;
    }
    out.printf("service %s: %d table(s), no migration history; migration set %s%n", report.service(), report.tables().size(),
        MigrationsDigest.shortForm(report.migrationsDigest()));
    report.tables().forEach(t -> out.println("  " + t));
    if (report.migrations().isEmpty()) {
      // Alembic: Lockstep does not read the revisions' Python, so there is nothing per migration to show.
      out.printf("%nbaseline at %s: recorded as the database's revision (alembic stamp); nothing is run%n", report.schema());
    } else {
      out.printf("%nbaseline at %s: the migrations marked 'recorded' are recorded as applied and never run%n", report.schema());
      Table t = new Table("VERSION", "DESCRIPTION", "BASELINE", "CREATES");
      for (BaselineReport.Migration m : report.migrations()) {
        t.row(m.version(), m.description(), m.covered() ? "recorded" : "runs later", m.creates().isEmpty() ? "(nothing it can check)"
            : m.creates().stream().map(c -> c.kind() + " " + c.name() + (c.exists() ? " (exists)" : " (missing)"))
                .collect(Collectors.joining(", ")));
      }
      t.print(out);
      out.println(report.suggested() == null
          ? "suggested: none (the first migration already creates something the database lacks)"
          : "suggested: --schema " + report.suggested() + " (every migration up to it creates only objects that exist)");
    }
    if (!report.warnings().isEmpty()) {
      out.println("look at:");
      report.warnings().forEach(w -> out.println("  - " + w));
    }
  }

  private static String covered(BaselineReport report) {
    return report.migrations().stream().filter(BaselineReport.Migration::covered).map(BaselineReport.Migration::label)
        .collect(Collectors.joining(", "));
  }

  /** The terminal to ask on, or null. (From Java 22 a Console exists without a terminal too; isTerminal() tells.) */
  private static Console terminal() {
    Console console = System.console();
    if (console == null) {
      return null;
    }
    try {
      return Boolean.TRUE.equals(Console.class.getMethod("isTerminal").invoke(console)) ? console : null;
    } catch (ReflectiveOperationException olderJava) {
      return console; // before Java 22 a Console exists only on a terminal
    }
  }

  private static String capitalized(String text) {
    return Character.toUpperCase(text.charAt(0)) + text.substring(1);
  }
}
