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
 * which migration set (digest) applied each, the baseline that adopted the database, and Lockstep's repairs.
 */
@Command(name = "history", mixinStandardHelpOptions = true,
    description = "Applied and pending migrations with who applied them and when, and the repairs releases made (like `alembic history`).")
public final class HistoryCommand implements Callable<Integer> {
  @Mixin
  ClientOptions options;

  @Override
  public Integer call() {
    MigrationHistory history = options.client().get("/v1/migrations" + options.serviceQuery('?'), MigrationHistory.class);
    if (options.json) {
      System.out.println(Json.write(history));
      return 0;
    }
    Table t = new Table("VERSION", "DESCRIPTION", "STATE", "INSTALLED BY", "INSTALLED ON", "MS", "RELEASE", "COORDINATOR", "SET");
    history.applied().forEach(m -> t.row(m.version(), m.description(), m.state(), m.installedBy(), m.installedOn(),
        m.executionMs(), m.releaseId(), m.coordinator(),
        m.migrationsDigest() == null ? null : MigrationsDigest.shortForm(m.migrationsDigest())));
    history.pending().forEach(m -> t.row(m.version(), m.description(), m.state(), null, null, null, null, null, null));
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
    if (!history.repairs().isEmpty()) {
      System.out.println("\nrepairs:");
      Table r = new Table("RELEASE", "RULE", "OBJECT", "APPLIED AT", "STATEMENT");
      history.repairs().forEach(x -> r.row(x.releaseId(), x.rule(), x.object(), x.appliedAt(), x.statement()));
      r.print(System.out);
    }
    return 0;
  }
}
