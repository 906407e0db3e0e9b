package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.PruneReport;
import dev.lockstep.protocol.PruneRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lockstep prune --keep N [--older-than DURATION] [--dry-run]}: deletes the stored migration sets no
 * release needs. Nothing prunes by itself; releases are never deleted, only the contents of their sets.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
    description = {"Delete the stored migration sets no release needs; releases are kept. Nothing prunes by itself.",
        "A set stays while an unfinished release carries it, while one of the N newest releases of its service carries"
        + " it, or (with --older-than) while it was stored less than that long ago; then every stored file no remaining"
        + " set names is deleted.",
        "Releases are the history: `GET /v1/releases/{id}/migrations` of one whose set was pruned answers 410 saying"
        + " when."})
public final class PruneCommand implements Callable<Integer> {
  @Mixin
  ClientOptions options;

  @Option(names = "--keep", required = true, paramLabel = "N",
      description = "keep the sets of each service's N newest releases (at least 1)")
  int keep;

  @Option(names = "--older-than", paramLabel = "DURATION",
      description = "prune only sets stored longer ago than this, e.g. 12h, 30d (default: any age)")
  String olderThan;

  @Option(names = "--dry-run", description = "show what would be pruned; delete nothing")
  boolean dryRun;

  @Override
  public Integer call() {
    if (options.service != null && !options.service.isBlank()) {
      throw new CliException(2, "prune works across every service (a set may be shared by several): leave out --service;"
          + " --keep counts the newest releases of each service");
    }
    PruneReport report = options.client().post("/v1/migration-sets/prune", new PruneRequest(keep, olderThan, dryRun),
        PruneReport.class);
    if (options.json) {
      System.out.println(Json.write(report));
      return 0;
    }
    if (!report.pruned().isEmpty()) {
      Table t = new Table("SET", "FILES", "BYTES", "STORED AT", "RELEASES");
      report.pruned().forEach(s -> t.row(MigrationsDigest.shortForm(s.digest()), s.files(), s.bytes(), s.storedAt(),
          s.releases().isEmpty() ? "(none)" : String.join(", ", s.releases())));
      t.print(System.out);
    }
    if (report.storedBefore() != null) {
      System.out.println("only sets stored before " + report.storedBefore() + " could go");
    }
    System.out.printf("%s %d migration set(s) and %d stored file(s), %d bytes; %d set(s) kept%s%n",
        report.dryRun() ? "would prune" : "pruned", report.pruned().size(), report.files(), report.bytes(), report.kept(),
        report.dryRun() ? " (dry run: nothing was deleted)" : "");
    return 0;
  }
}
