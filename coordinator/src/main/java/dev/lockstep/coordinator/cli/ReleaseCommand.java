package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.ContractState;
import dev.lockstep.protocol.ContractStatus;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Mode;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseAgent;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.protocol.ReleaseEvent;
import dev.lockstep.protocol.ReleaseOptions;
import dev.lockstep.protocol.ReleaseRequest;
import dev.lockstep.protocol.ReleaseRole;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lockstep release --revision R [--schema V] [--migrations DIR]}: starts a coordinated release carrying
 * the migration set of {@code DIR} (else the coordinator's folder as it is now) and follows it
 * live. Exits 0 only when the release ends COMPLETED with its contract (if it has one) applied; 3 when COMPLETED with
 * the contract pending; 1 otherwise.
 */
@Command(name = "release", mixinStandardHelpOptions = true,
    description = "Start a coordinated release and follow it (like `alembic upgrade`); exits 0 only if it COMPLETES"
        + " (3 if its contract is left pending).")
public final class ReleaseCommand implements Callable<Integer> {
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneId.systemDefault());

  @Mixin
  ClientOptions options;

  @Option(names = "--revision", required = true, description = "code revision to switch the fleet to")
  String revision;

  @Option(names = "--schema", description = "target schema version (default: the newest migration)")
  String schema;


  @Option(names = "--mode", description = "online, maintenance or auto (default auto)")
  String mode;

  @Option(names = "--allow-lost", description = "start even though some agents of the service are lost")
  boolean allowLost;

  @Option(names = "--allow-destructive", description = "allow --mode online although the migrations drop, rename or retype what old code reads")
  boolean allowDestructive;

  @Option(names = "--allow-data-loss", description = "allow migrations that drop tables or columns still holding data")
  boolean allowDataLoss;

  @Option(names = "--detach", description = "print the release id and return at once")
  boolean detach;

  @Option(names = "--migrations", paramLabel = "DIR",
      description = "upload this folder's migration set (V…/U… .sql and .sql.conf, subfolders too) with the release,"
          + " e.g. the build's db/migrations; default: the coordinator's --migrations folder as it is now")
  Path migrations;

  @Option(names = "--migrations-from", paramLabel = "agents",
      description = "take the migration set from the new instances (agents in readiness mode already on --revision),"
          + " which must all report one digest; instead of --migrations")
  String migrationsFrom;

  @Option(names = "--contract", paramLabel = "auto|defer",
      description = "auto (default): after the switch, wait until no agent runs another revision, then apply the"
          + " contract migrations; defer: complete once switched and leave them pending for lockstep contract")
  String contract;

  @Option(names = "--min-ready", paramLabel = "N",
      description = "readiness mode: wait in PREPARING until N new instances (agents already on --revision) are"
          + " prepared (default: as many as there are serving instances when the release starts)")
  Integer minReady;

  @Override
  public Integer call() {
    PrintStream out = System.out;
    PrintStream progress = options.json ? System.err : System.out;
    ApiClient api = options.client();
    Mode parsedMode = mode == null ? null : Mode.parse(mode);
    if (migrationsFrom != null && !ReleaseRequest.FROM_AGENTS.equals(migrationsFrom)) {
      throw new CliException(2, "--migrations-from takes one value, agents (got '" + migrationsFrom + "')");
    }
    if (migrationsFrom != null && migrations != null) {
      throw new CliException(2, "give --migrations DIR or --migrations-from agents, not both");
    }
    if (contract != null && !contract.equals(ReleaseOptions.CONTRACT_AUTO) && !contract.equals(ReleaseOptions.CONTRACT_DEFER)) {
      throw new CliException(2, "--contract takes auto or defer (got '" + contract + "')");
    }
    if (minReady != null && minReady < 0) {
      throw new CliException(2, "--min-ready must be 0 or more (got " + minReady + ")");
    }
    ReleaseRequest request = new ReleaseRequest(options.service, revision, schema, parsedMode, allowLost, allowDestructive,
        allowDataLoss, migrations == null ? null : FolderUpload.read(migrations, progress), minReady, migrationsFrom,
        contract);
    ReleaseDocument doc = api.post("/v1/releases", request, ReleaseDocument.class);
    if (detach) {
      out.println(options.json ? Json.write(doc) : doc.id());
      return 0;
    }
    progress.printf("release %s: service %s → revision %s, schema %s → %s, migration set %s%n", doc.id(), doc.service(),
        doc.revision(), doc.fromSchema() == null ? "(empty)" : doc.fromSchema(), doc.schema(),
        MigrationsDigest.shortForm(doc.migrationsDigest()));
    ReleaseDocument[] last = {null};
    // In a terminal, a progress bar stays under the event lines; in a pipe or a CI log, plain lines only.
    boolean bar = !options.json && System.console() != null;
    long started = System.nanoTime();
    try {
      api.events("/v1/releases/" + doc.id() + "/events", (event, data) -> {
        if ("end".equals(event)) {
          last[0] = Json.read(data, ReleaseDocument.class);
          if (bar) {
            progress.print(ProgressBar.erase());
          }
        } else {
          ReleaseEvent e = Json.read(data, ReleaseEvent.class);
          progress.printf("%s  %s  %-11s %s%n", bar ? ProgressBar.erase() : "", TIME.format(Instant.parse(e.at())), e.phase(),
              e.message());
          if (bar) {
            progress.print(ProgressBar.render(api.get("/v1/releases/" + doc.id(), ReleaseDocument.class),
                java.time.Duration.ofNanos(System.nanoTime() - started)));
            progress.flush();
          }
        }
      });
    } catch (CliException lostStream) {
      progress.println((bar ? ProgressBar.erase() : "") + "  (event stream interrupted: " + lostStream.getMessage()
          + "; polling)");
    }
    ReleaseDocument end = last[0];
    while (end == null || !end.phase().isTerminal()) {
      sleep();
      end = api.get("/v1/releases/" + doc.id(), ReleaseDocument.class);
    }
    if (options.json) {
      out.println(Json.write(end));
    } else {
      summary(out, end);
    }
    return exitCode(end);
  }

  /** The contract of DESIGN.md: 0 only when COMPLETED with the contract none or applied; pending 3; else 1. */
  static int exitCode(ReleaseDocument end) {
    if (end.phase() != Phase.COMPLETED) {
      return 1;
    }
    return switch (end.contract().state()) {
      case NONE, APPLIED -> 0;
      case PENDING -> 3;
      case WAITING, FAILED -> 1;
    };
  }

  static void summary(PrintStream out, ReleaseDocument doc) {
    out.printf("%nrelease %s %s%n", doc.id(), doc.phase());
    if (doc.reason() != null) {
      out.println("  reason:  " + doc.reason());
    }
    out.printf("  mode:    %s%s%n", doc.mode() == null ? "-" : doc.mode().wireName(),
        doc.modeReason() == null ? "" : " (" + doc.modeReason() + ")");
    out.printf("  schema:  %s → %s; applied %d migration(s)%n", doc.fromSchema() == null ? "(empty)" : doc.fromSchema(),
        doc.schema(), doc.applied().size());
    if (!doc.repairs().isEmpty()) {
      out.println("  repairs: " + String.join("; ", doc.repairs()));
    }
    if (!doc.agents().isEmpty()) {
      boolean roles = doc.agents().stream().anyMatch(a -> a.role() != ReleaseRole.IN_PLACE || a.gone());
      Table t = roles ? new Table("AGENT", "ROLE", "STATE", "SWITCHED AT") : new Table("AGENT", "STATE", "SWITCHED AT");
      for (ReleaseAgent a : doc.agents()) {
        String state = a.gone() ? a.state().wireName() + " (gone)" : a.state().wireName();
        if (roles) {
          t.row(a.id(), a.role().wireName(), state, a.switchedAt());
        } else {
          t.row(a.id(), state, a.switchedAt());
        }
      }
      t.print(out);
    }
    if (doc.switchSkewMs() != null) {
      out.println("  switch skew: " + doc.switchSkewMs() + " ms");
    }
    contract(out, doc);
  }

  /** The contract's lines of a summary: what it is, where it is, and for one pending how to apply it. */
  static void contract(PrintStream out, ReleaseDocument doc) {
    ContractStatus c = doc.contract();
    if (c.migrations().isEmpty()) {
      return;
    }
    out.printf("  contract: %s (%s)%n", c.state().wireName(), String.join(", ", c.migrations()));
    if (c.state() == ContractState.APPLIED && c.afterLastSwitchMs() != null) {
      out.printf("            applied %s, %d ms after the last switch%n", c.appliedAt(), c.afterLastSwitchMs());
    }
    if (!c.waitingFor().isEmpty()) {
      out.println("            waiting for: " + String.join(", ", c.waitingFor()));
    }
    if (c.reason() != null) {
      out.println("            " + c.reason());
    }
    if (c.state() == ContractState.PENDING) {
      out.println("            apply it later with: lockstep contract --service " + doc.service());
    }
  }

  private static void sleep() {
    try {
      Thread.sleep(500);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(130, "interrupted");
    }
  }
}
