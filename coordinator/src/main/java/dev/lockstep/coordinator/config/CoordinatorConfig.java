package dev.lockstep.coordinator.config;

import dev.lockstep.coordinator.identity.AgentCredentials;
import dev.lockstep.coordinator.identity.OperatorTokens;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything {@code serve} needs, resolved from flags and environment.
 *
 * @param port HTTP port
 * @param database the application's database
 * @param redisUrl {@code redis://host:port}
 * @param service the service this coordinator manages
 * @param migrations folder of {@code V…}/{@code U…} SQL migrations, the default set of a release; null if none
 * @param operatorTokens the operators' named tokens (releases, aborts, checks)
 * @param agentCredentials how agents prove who they are (reports and desired state only)
 * @param lostAfter silence after which an agent is {@code lost}
 * @param prepareTimeout how long PREPARING waits for every agent's acknowledgement
 * @param switchTimeout how long SWITCHING waits for every agent's switch
 * @param switchLead how far ahead of its moment SWITCHING announces the switch ({@code DesiredState.switchAt}); zero:
 *     agents switch on arrival
 * @param contractTimeout how long CONTRACTING waits for the last agent on another revision before it leaves the
 *     contract pending
 * @param lockTimeout lock_timeout for migration statements, so a migration never queues every query behind it
 * @param timings how often and how long the coordinator waits for other coordinators and for retries
 */
public record CoordinatorConfig(
    int port,
    DatabaseUrl database,
    String redisUrl,
    String service,
    Path migrations,
    OperatorTokens operatorTokens,
    AgentCredentials agentCredentials,
    Duration lostAfter,
    Duration prepareTimeout,
    Duration switchTimeout,
    Duration switchLead,
    Duration contractTimeout,
    Duration lockTimeout,
    Timings timings) {

  /**
   * The waits of failover, configurable so tests (and impatient operators) can run them at 1–2 s.
   *
   * @param orphanScan how often a coordinator looks for an unfinished release that no coordinator runs
   * @param lockLease how long the Redis lock outlives a coordinator that died or paused (Redisson's watchdog)
   * @param retryWait first wait before a migration that hit {@code lock_timeout} is tried again (doubling)
   * @param shutdownGrace how long SIGTERM waits for a running migration step before letting go anyway
   */
  public record Timings(Duration orphanScan, Duration lockLease, Duration retryWait, Duration shutdownGrace) {
    public static final Timings DEFAULT = new Timings(Duration.ofSeconds(3), Duration.ofSeconds(10), Duration.ofSeconds(2),
        Duration.ofSeconds(30));

    /** A run resumed after a crash waits this long for the dead holder's lock: longer than the lease. */
    public Duration resumeLockWait() {
      return lockLease.multipliedBy(3);
    }
  }
}
