package dev.lockstep.coordinator.server;

import dev.lockstep.coordinator.config.CoordinatorConfig;
import dev.lockstep.protocol.Durations;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * How {@code serve} runs releases: liveness, the waits of each phase, failover timings, the backup command and release
 * on arrival.
 */
public final class RunOptions {
  @Option(names = "--lost-after", defaultValue = "${env:LOCKSTEP_LOST_AFTER:-10s}", description = "silence after which"
      + " an agent is lost (default 10s), counted from its last report or from this coordinator's last trouble reaching"
      + " Redis, whichever is later")
  String lostAfter;

  @Option(names = "--prepare-timeout", defaultValue = "${env:LOCKSTEP_PREPARE_TIMEOUT:-5m}", description = "how long PREPARING waits for every agent (default 5m)")
  String prepareTimeout;

  @Option(names = "--switch-timeout", defaultValue = "${env:LOCKSTEP_SWITCH_TIMEOUT:-5m}", description = "how long SWITCHING waits for every agent (default 5m)")
  String switchTimeout;

  @Option(names = "--switch-lead", defaultValue = "${env:LOCKSTEP_SWITCH_LEAD:-150ms}",
      description = "how far ahead SWITCHING announces the moment every agent runs its switch hook (default 150ms), so"
          + " the fan-out and each agent's own work are done by then and the switches are as close as the hosts' clocks;"
          + " 0 switches each agent when it learns of it")
  String switchLead;

  @Option(names = "--contract-timeout", defaultValue = "${env:LOCKSTEP_CONTRACT_TIMEOUT:-10m}",
      description = "how long CONTRACTING waits for the last agent on another revision before the release completes"
          + " with its contract pending, for lockstep contract (default 10m)")
  String contractTimeout;

  @Option(names = "--lock-timeout", defaultValue = "${env:LOCKSTEP_LOCK_TIMEOUT:-10s}", description = "lock_timeout of migration statements (default 10s)")
  String lockTimeout;

  @Option(names = "--orphan-scan", defaultValue = "${env:LOCKSTEP_ORPHAN_SCAN:-3s}",
      description = "how often to look for an unfinished release no coordinator runs, to take it over (default 3s)")
  String orphanScan;

  @Option(names = "--lock-lease", defaultValue = "${env:LOCKSTEP_LOCK_LEASE:-10s}",
      description = "how long the Redis lock outlives a coordinator that died or paused (default 10s)")
  String lockLease;

  @Option(names = "--retry-wait", defaultValue = "${env:LOCKSTEP_RETRY_WAIT:-2s}",
      description = "first wait before a migration that hit lock_timeout is tried again, doubling (default 2s)")
  String retryWait;

  @Option(names = "--shutdown-grace", defaultValue = "${env:LOCKSTEP_SHUTDOWN_GRACE:-30s}",
      description = "on SIGTERM, how long a running migration step may take to finish before the coordinator lets go anyway (default 30s)")
  String shutdownGrace;

  @Option(names = "--backup-command", defaultValue = "${env:LOCKSTEP_BACKUP_COMMAND}",
      description = "run through sh -c under the lock after PREFLIGHT (once the fleet prepared) and before MIGRATING, with"
          + " LOCKSTEP_RELEASE_ID, LOCKSTEP_SERVICE and DATABASE_URL in its environment; failure aborts the release"
          + " (env LOCKSTEP_BACKUP_COMMAND)")
  String backupCommand;

  @Option(names = "--backup-timeout", defaultValue = "${env:LOCKSTEP_BACKUP_TIMEOUT:-1h}",
      description = "how long the backup command may run before it is stopped and the release aborted (default 1h)")
  String backupTimeout;

  @Option(names = "--auto-release", defaultValue = "${env:LOCKSTEP_AUTO_RELEASE:-false}",
      description = "release on arrival: when instances in readiness mode appear on a revision no release brought, all"
          + " with one migrations digest, start the release to it with their set (--migrations-from agents), requested"
          + " by 'auto' (env LOCKSTEP_AUTO_RELEASE, default false)")
  boolean autoRelease;


  CoordinatorConfig.Timings timings() {
    return new CoordinatorConfig.Timings(Durations.parse(orphanScan), Durations.parse(lockLease),
        Durations.parse(retryWait), Durations.parse(shutdownGrace));
  }

  Duration backupTimeout() {
    return Durations.parse(backupTimeout);
  }
}
