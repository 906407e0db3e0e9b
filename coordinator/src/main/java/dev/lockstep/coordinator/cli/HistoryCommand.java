package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.Baseline;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.MigrationHistory;
import dev.lockstep.protocol.MigrationsDigest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code lockstep history}: applied and pending migrations, who applied them and when, which release and
 * which migration set (digest) applied each and who requested that release, the baseline that adopted the database,
 * the recent releases with who requested (and aborted) them, and Lockstep's repairs.
 */
@Command(name = "history", mixinStandardHelpOptions = true,
    description = "Applied and pending migrations with who applied them and when, and the repairs releases made (like `alembic history`).")
public final class HistoryCommand implements Callable<Integer> {
  private static final int RELEASES = 10;
  @Mixin
  ClientOptions options;

  @Override
  public Integer call() {
    MigrationHistory history = options.client().get("/v1/migrations" + options.serviceQuery('?'), MigrationHistory.class);
    if (options.json) {
      System.out.println(Json.write(history));
      return 0;
    }
    Table t = new Table("VERSION", "DESCRIPTION", "STATE", "INSTALLED BY", "INSTALLED ON", "MS", "RELEASE", "REQUESTED BY",
        "COORDINATOR", "SET");
    history.applied().forEach(m -> t.row(version(m), m.description(), m.state(), m.installedBy(), m.installedOn(),
        m.executionMs(), m.releaseId(), m.requestedBy(), m.coordinator(),
        m.migrationsDigest() == null ? null : MigrationsDigest.shortForm(m.migrationsDigest())));
    history.pending().forEach(m -> t.row(version(m), m.description(), m.state(), null, null, null, null, null, null, null));
    t.print(System.out);
    if (history.pendingFrom() != null && !history.pending().isEmpty()) {
      System.out.println("pending: as in " + history.pendingFrom());
    }
    if (history.baseline() != null) {
      Baseline b = history.baseline();
      System.out.printf("%nbaseline: schema %s recorded as applied without running (%s) by %s from %s at %s; %d table(s)"
              + " adopted, set %s%n", b.version(), b.covered().isEmpty() ? "no migration" : String.join(", ", b.covered()),
          b.requestedBy(), b.caller(), b.at(), b.tables().size(), MigrationsDigest.shortForm(b.migrationsDigest()));
    }
    printReleases(options.client().get("/v1/releases?limit=" + RELEASES + options.serviceQuery('&'), StatusCommand.ReleaseList.class));
    if (!history.repairs().isEmpty()) {
      System.out.println("\nrepairs:");
      Table r = new Table("RELEASE", "RULE", "OBJECT", "APPLIED AT", "STATEMENT");
      history.repairs().forEach(x -> r.row(x.releaseId(), x.rule(), x.object(), x.appliedAt(), x.statement()));
      r.print(System.out);
    }
    return 0;
  }

  /** The version, marked when it is a contract migration (run after the switch): {@code 7 (contract)}. */
  private static String version(MigrationHistory.Entry m) {
    return m.contract() ? m.version() + " (contract)" : m.version();
  }

  /** Who asked for each recent release, and who aborted it: the audit, as {@code history} shows it. */
  private static void printReleases(StatusCommand.ReleaseList list) {
    if (list.releases().isEmpty()) {
      return;
    }
    System.out.println("\nreleases (newest first):");
    Table r = new Table("RELEASE", "REVISION", "SCHEMA", "PHASE", "CONTRACT", "REQUESTED BY", "FROM", "ABORTED BY",
        "CREATED AT");
    list.releases().forEach(d -> r.row(d.id(), d.revision(), d.schema(), d.phase(),
        d.contract().migrations().isEmpty() ? null : d.contract().state().wireName(), d.requestedBy(), d.requestedFrom(),
        d.abortedBy() == null ? null : d.abortedBy() + (d.abortedFrom() == null ? "" : " from " + d.abortedFrom()),
        d.createdAt()));
    r.print(System.out);
  }
}
