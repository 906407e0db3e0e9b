package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.CheckReport;
import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.ReleaseRequest;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lockstep check}: what the next release would find, repair and which mode it would take.
 * Changes nothing. Exits 0 when a release could proceed, 1 when pre-flight would block it.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
    description = "Run pre-flight rules and the rehearsal without releasing; changes nothing. Exits 1 if a release would be blocked.")
public final class CheckCommand implements Callable<Integer> {
  @Mixin
  ClientOptions options;

  @Option(names = "--schema", description = "target schema version (default: the newest migration)")
  String schema;

  @Option(names = "--mode", description = "online, maintenance or auto (default auto)")
  String mode;

  @Option(names = "--allow-destructive", description = "as for release")
  boolean allowDestructive;

  @Option(names = "--allow-data-loss", description = "as for release")
  boolean allowDataLoss;

  @Option(names = "--migrations", paramLabel = "DIR",
      description = "check against this folder's migration set, uploaded (nothing is stored); default: the coordinator's folder")
  Path migrations;

  @Override
  public Integer call() {
    ReleaseRequest request = new ReleaseRequest(options.service, null, schema, mode == null ? null : Mode.parse(mode), false,
        allowDestructive, allowDataLoss, migrations == null ? null : FolderUpload.read(migrations,
            options.json ? System.err : System.out));
    CheckReport report = options.client().post("/v1/check", request, CheckReport.class);
    if (options.json) {
      System.out.println(Json.write(report));
      return report.blocked() ? 1 : 0;
    }
    System.out.printf("service %s: schema %s → %s, %d pending migration(s)%s%n", report.service(),
        report.current() == null ? "(empty)" : report.current(), report.target(), report.pending().size(),
        report.pending().isEmpty() ? "" : ": " + String.join(", ", report.pending()));
    if (report.findings().isEmpty()) {
      System.out.println("no findings");
    } else {
      Table t = new Table("SEVERITY", "RULE", "OBJECT", "MESSAGE");
      for (Finding f : report.findings()) {
        t.row(f.severity().wireName(), f.rule(), f.object(), f.message());
      }
      t.print(System.out);
    }
    if (!report.repairs().isEmpty()) {
      System.out.println("repairs a release would make first:");
      report.repairs().forEach(r -> System.out.println("  " + r));
    }
    if (!report.locks().isEmpty()) {
      // What the application will wait for while the release migrates, measured, before anything runs.
      System.out.println("locks the release takes (repairs, then migrations), as the rehearsal measured them:");
      report.locks().forEach(l -> System.out.println("  " + l.describe()));
    }
    System.out.printf("mode: %s (%s)%n", report.mode().wireName(), report.modeReason());
    if (!report.contract().isEmpty()) {
      // The split, in one line: what runs before the switch and how, what runs after it and what it removes.
      int expand = report.pending().size() - report.contract().size();
      System.out.printf("expand: %d migration(s), %s; contract after the switch: %d migration(s) (%s)%s%n", expand,
          report.mode().wireName(), report.contract().size(), String.join(", ", report.contract()),
          report.contractEffects().isEmpty() ? "" : ": " + String.join("; ", report.contractEffects()));
    }
    System.out.println(report.blocked() ? "a release would be BLOCKED: " + report.blockingReason()
        : "a release could proceed (checked in " + report.elapsedMs() + " ms; nothing was changed)");
    return report.blocked() ? 1 : 0;
  }
}
