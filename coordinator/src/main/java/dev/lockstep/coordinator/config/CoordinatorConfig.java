package dev.lockstep.coordinator.config;

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
 * @param operatorToken token for operators (releases, aborts, checks)
 * @param agentToken token for agents (reports and desired state only)
 * @param lostAfter silence after which an agent is {@code lost}
 * @param prepareTimeout how long PREPARING waits for every agent's acknowledgement
 * @param switchTimeout how long SWITCHING waits for every agent's switch
 * @param lockTimeout lock_timeout for migration statements, so a migration never queues every query behind it
 */
public record CoordinatorConfig(
    int port,
    DatabaseUrl database,
    String redisUrl,
    String service,
    Path migrations,
    String operatorToken,
    String agentToken,
    Duration lostAfter,
    Duration prepareTimeout,
    Duration switchTimeout,
    Duration lockTimeout) {}
