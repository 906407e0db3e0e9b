package dev.lockstep.coordinator.server;

import dev.lockstep.coordinator.config.CoordinatorConfig;
import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.identity.AgentCredentials;
import dev.lockstep.coordinator.identity.OperatorTokens;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.store.RedisOptions;
import dev.lockstep.protocol.Durations;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code lockstep serve}: the coordinator. Turns the options (grouped by concern in the mixins of this package) into
 * {@link Coordinator.Settings}, every one checked before anything connects, so a wrong flag is one line and exit 2;
 * then runs a {@link Coordinator} until SIGTERM, on which it stops it in order.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the coordinator: HTTP API, agent registry, release runner.")
public final class ServeCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);
  // pgjdbc logs a refused host name through java.util.logging, two lines on stderr ahead of the one line start-up
  // prints for the same failure (StoreFailure names the fix). Held here: JUL keeps loggers only weakly.
  private static final java.util.logging.Logger PGJDBC_HOSTNAME_CHECK =
      java.util.logging.Logger.getLogger("org.postgresql.ssl.PGjdbcHostnameVerifier");

  static {
    PGJDBC_HOSTNAME_CHECK.setLevel(java.util.logging.Level.OFF);
  }

  @Mixin
  ListenOptions listen = new ListenOptions();

  @Mixin
  StoreOptions stores = new StoreOptions();

  @Option(names = "--service", defaultValue = "${env:LOCKSTEP_SERVICE:-app}", description = "the service it manages (env LOCKSTEP_SERVICE, default app)")
  String service;

  @Option(names = "--migrations", defaultValue = "${env:LOCKSTEP_MIGRATIONS}",
      description = "folder of V…/U… SQL migrations: the set a release that uploads none carries, read when the release"
          + " is created; optional (env LOCKSTEP_MIGRATIONS)")
  Path migrations;

  @Mixin
  EngineOptions engine = new EngineOptions();

  @Mixin
  AccessOptions access = new AccessOptions();

  @Mixin
  RunOptions run = new RunOptions();

  @Mixin
  RuleOptions rules = new RuleOptions();

  @Mixin
  LimitOptions limits = new LimitOptions();

  @Override
  public Integer call() throws Exception {
    Coordinator.Settings settings = settings();
    CoordinatorConfig config = settings.config();
    log.info("coordinator for service {}: database {}, redis {}, engine {}, migrations {}", config.service(),
        config.database(), settings.redis().url(), settings.engine().name(), engine.defaultSet(config.migrations()));
    log.info("operator tokens: {}; agents: {}", config.operatorTokens().names(),
        config.agentCredentials().tokens() == null ? "the shared agent token only" : "per-agent tokens from the agent secret"
            + (config.agentCredentials().allowsShared() ? ", and the shared agent token" : ""));
    if (config.agentCredentials().allowsShared()) {
      log.warn("--allow-shared-agent-token: the shared --agent-token is accepted, and any agent holding it can report for"
          + " any other agent of any service; give each agent its own token (`lockstep agent-token`) and drop the flag");
    }
    Coordinator coordinator = new Coordinator(settings, Clock.systemUTC());
    log.info("coordinator instance {}", coordinator.instanceId());
    CountDownLatch stopped = new CountDownLatch(1);
    // Before start(): SIGTERM while the stores are still down ends start-up and stops what it had started.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      coordinator.stop();
      stopped.countDown();
    }, "lockstep-shutdown"));
    if (!coordinator.start()) {
      return 1;
    }
    stopped.await();
    return 0;
  }

  /** Every option resolved and checked; throws (a configuration error, exit 2) on the first wrong one. */
  Coordinator.Settings settings() {
    OperatorTokens operators = access.operators();
    AgentCredentials agents = access.agents(operators);
    // Without a folder the coordinator still runs: every release (and check) then uploads its set.
    if (migrations != null && !Files.isDirectory(migrations)) {
      throw new IllegalArgumentException("migrations folder " + migrations.toAbsolutePath() + " does not exist");
    }
    RedisOptions redis = stores.redis();
    DatabaseUrl database = stores.database();
    CoordinatorConfig config = new CoordinatorConfig(listen.port, database, stores.redisUrl, service,
        migrations == null ? null : migrations.toAbsolutePath(), operators, agents, Durations.parse(run.lostAfter),
        Durations.parse(run.prepareTimeout), Durations.parse(run.switchTimeout), Durations.parse(run.switchLead), Durations.parse(run.contractTimeout),
        Durations.parse(run.lockTimeout),
        run.timings());
    // Built before anything connects: a wrong engine option is a configuration error, said in one line.
    MigrationEngine migrationEngine = engine.build(config.database(), config.migrations(), config.service(),
        config.lockTimeout());
    return new Coordinator.Settings(config, listen.host, listen.tlsFiles(), listen.tlsReload(), redis, limits.limits(),
        migrationEngine, rules.rules(), rules.declaredKeys(), run.backupCommand, run.backupTimeout(), run.autoRelease,
        listen.httpLoops());
  }
}
