package dev.lockstep.coordinator.release;

import dev.lockstep.coordinator.config.CoordinatorConfig;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.coordinator.migration.Migrations;
import dev.lockstep.coordinator.preflight.Preflight;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.rules.InspectionContext;
import dev.lockstep.rules.RuleEngine;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.time.Clock;
import org.redisson.api.RedissonClient;

/**
 * The collaborators a release run needs, wired once in {@code ServeCommand}. The worker executor is
 * where everything blocking goes (Flyway, JDBC, rules): never an event loop.
 */
public record ReleaseDeps(
    Vertx vertx,
    CoordinatorConfig config,
    ReleaseStore store,
    MigrationSetStore sets,
    AgentRegistry registry,
    DesiredStateWatch watch,
    Migrations migrations,
    RuleEngine rules,
    InspectionContext inspectionContext,
    Preflight preflight,
    Connections connections,
    WorkerExecutor worker,
    RedissonClient redisson,
    MeterRegistry meters,
    Clock clock,
    String instanceId) {}
