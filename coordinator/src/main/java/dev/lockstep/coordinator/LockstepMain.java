package dev.lockstep.coordinator;

import dev.lockstep.coordinator.cli.AbortCommand;
import dev.lockstep.coordinator.server.ServeCommand;
import dev.lockstep.coordinator.cli.AgentTokenCommand;
import dev.lockstep.coordinator.cli.AgentsCommand;
import dev.lockstep.coordinator.cli.BaselineCommand;
import dev.lockstep.coordinator.cli.CheckCommand;
import dev.lockstep.coordinator.cli.ContractCommand;
import dev.lockstep.coordinator.cli.CliException;
import dev.lockstep.coordinator.cli.CurrentCommand;
import dev.lockstep.coordinator.cli.HistoryCommand;
import dev.lockstep.coordinator.cli.PruneCommand;
import dev.lockstep.coordinator.cli.ReleaseCommand;
import dev.lockstep.coordinator.cli.StatusCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code java -jar lockstep-coordinator.jar <command>}: the coordinator ({@code serve}) and the
 * operator CLI ({@code release}, {@code status}, {@code agents}, {@code abort}).
 */
@Command(name = "lockstep", mixinStandardHelpOptions = true, version = "lockstep 0.1.0",
    description = "Coordinated database schema releases for multi-server applications.",
    subcommands = {ServeCommand.class, CurrentCommand.class, HistoryCommand.class, ReleaseCommand.class,
        CheckCommand.class, BaselineCommand.class, StatusCommand.class, AgentsCommand.class, AbortCommand.class, ContractCommand.class, PruneCommand.class,
        AgentTokenCommand.class})
public final class LockstepMain implements Runnable {

  public static void main(String[] args) {
    int code = run(args);
    dev.lockstep.coordinator.cli.ApiClient.releaseClientThreads();
    System.exit(code);
  }

  public static int run(String... args) {
    CommandLine cli = new CommandLine(new LockstepMain());
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof CliException c) {
        cmd.getErr().println("lockstep: " + c.getMessage());
        return c.exitCode();
      }
      if (e instanceof IllegalArgumentException || e instanceof dev.lockstep.rules.RuleFileException) {
        cmd.getErr().println("lockstep: " + e.getMessage());
        return 2;
      }
      throw e;
    });
    return cli.execute(args);
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
