package dev.lockstep.coordinator.server;

import dev.lockstep.coordinator.config.CoordinatorConfig;
import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.config.RedisUrl;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.coordinator.fleet.FleetMetrics;
import dev.lockstep.coordinator.http.ApiLimits;
import dev.lockstep.coordinator.http.ApiServer;
import dev.lockstep.coordinator.http.Auth;
import dev.lockstep.coordinator.http.AuthFailureBudget;
import dev.lockstep.coordinator.http.HealthRoutes;
import dev.lockstep.coordinator.http.HttpApi;
import dev.lockstep.coordinator.identity.AgentCredentials;
import dev.lockstep.coordinator.identity.OperatorTokens;
import dev.lockstep.coordinator.migration.Baselines;
import dev.lockstep.coordinator.server.EngineOptions;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.migration.alembic.AlembicEngine;
import dev.lockstep.coordinator.preflight.CloneRehearsal;
import dev.lockstep.coordinator.preflight.Checker;
import dev.lockstep.coordinator.preflight.Preflight;
import dev.lockstep.coordinator.lock.ServiceLock;
import dev.lockstep.coordinator.release.AutoRelease;
import dev.lockstep.coordinator.release.Backup;
import dev.lockstep.coordinator.release.NewInstances;
import dev.lockstep.coordinator.release.ReleasePhaseGauge;
import dev.lockstep.coordinator.release.StagedSets;
import dev.lockstep.coordinator.store.AgentDepartures;
import dev.lockstep.coordinator.release.Ending;
import dev.lockstep.coordinator.release.FleetWait;
import dev.lockstep.coordinator.release.Migrating;
import dev.lockstep.coordinator.release.Planning;
import dev.lockstep.coordinator.release.Preflighting;
import dev.lockstep.coordinator.release.Preparing;
import dev.lockstep.coordinator.release.ReleaseMachine;
import dev.lockstep.coordinator.release.ReleaseMetrics;
import dev.lockstep.coordinator.release.ReleaseRun;
import dev.lockstep.coordinator.release.ReleaseService;
import dev.lockstep.coordinator.release.RepairStep;
import dev.lockstep.coordinator.release.Switching;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.coordinator.store.PoolConnectOptions;
import dev.lockstep.coordinator.store.RedisOptions;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.coordinator.store.StoreStartup;
import dev.lockstep.coordinator.store.StoreState;
import dev.lockstep.coordinator.tls.CertificateReloader;
import dev.lockstep.coordinator.tls.TlsFileException;
import dev.lockstep.coordinator.tls.TlsFiles;
import dev.lockstep.coordinator.tls.TlsMaterial;
import dev.lockstep.protocol.Durations;
import dev.lockstep.rules.InspectionContext;
import dev.lockstep.rules.RuleEngine;
import dev.lockstep.rules.UserRule;
import dev.lockstep.rules.UserRules;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lockstep serve}: the coordinator. Wires everything by hand, in the order it must start
 * (Vert.x and HTTP with only /health and /ready, then PostgreSQL and its schema with Redis, retried
 * until both answer, then the API), and shuts down in the reverse order.
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

  @Option(names = "--port", defaultValue = "${env:LOCKSTEP_PORT:-7070}", description = "HTTP port, HTTPS with --tls-cert (env LOCKSTEP_PORT, default 7070)")
  int port;

  @Option(names = "--host", defaultValue = "${env:LOCKSTEP_HOST:-0.0.0.0}",
      description = "address to listen on, e.g. 127.0.0.1 for local use only (env LOCKSTEP_HOST, default 0.0.0.0)")
  String host;

  @Option(names = "--tls-cert", defaultValue = "${env:LOCKSTEP_TLS_CERT}",
      description = "PEM certificate (chain) to serve HTTPS with, on --port; reloaded when the file changes"
          + " (env LOCKSTEP_TLS_CERT)")
  Path tlsCert;

  @Option(names = "--tls-key", defaultValue = "${env:LOCKSTEP_TLS_KEY}",
      description = "PEM private key of --tls-cert; reloaded when the file changes (env LOCKSTEP_TLS_KEY)")
  Path tlsKey;

  @Option(names = "--tls-client-ca", defaultValue = "${env:LOCKSTEP_TLS_CLIENT_CA}",
      description = "PEM CA for mutual TLS: every client must present a certificate it signed, and an agent's must name"
          + " that agent (env LOCKSTEP_TLS_CLIENT_CA)")
  Path tlsClientCa;

  @Option(names = "--tls-reload-interval", defaultValue = "${env:LOCKSTEP_TLS_RELOAD_INTERVAL:-5s}",
      description = "how often the TLS files are read for a renewed certificate (default 5s)")
  String tlsReloadInterval;

  @Option(names = "--database-url", defaultValue = "${env:LOCKSTEP_DATABASE_URL:-${env:DATABASE_URL}}",
      description = "postgresql://user:pass@host:port/db or jdbc:postgresql:… (env LOCKSTEP_DATABASE_URL, else DATABASE_URL)")
  String databaseUrl;

  @Option(names = "--redis-url", defaultValue = "${env:LOCKSTEP_REDIS_URL:-redis://127.0.0.1:6379}",
      description = "redis://[[USER]:PASSWORD@]host:port, or rediss://… for TLS (env LOCKSTEP_REDIS_URL, default"
          + " redis://127.0.0.1:6379)")
  String redisUrl;

  @Option(names = "--redis-ca-cert", defaultValue = "${env:LOCKSTEP_REDIS_CA_CERT}",
      description = "PEM file of the CA(s) that signed a rediss:// server's certificate, instead of the JDK's trusted CAs"
          + " (env LOCKSTEP_REDIS_CA_CERT)")
  Path redisCaCert;

  @Option(names = "--service", defaultValue = "${env:LOCKSTEP_SERVICE:-app}", description = "the service it manages (env LOCKSTEP_SERVICE, default app)")
  String service;

  @Option(names = "--migrations", defaultValue = "${env:LOCKSTEP_MIGRATIONS}",
      description = "folder of V…/U… SQL migrations: the set a release that uploads none carries, read when the release"
          + " is created; optional (env LOCKSTEP_MIGRATIONS)")
  Path migrations;

  @picocli.CommandLine.Mixin
  EngineOptions engine = new EngineOptions();

  @Option(names = "--token", defaultValue = "${env:LOCKSTEP_TOKEN}",
      description = "an operator token, named 'operator' in the audit; this or --token-file is required (env LOCKSTEP_TOKEN)")
  String token;

  @Option(names = "--token-file", paramLabel = "PATH", defaultValue = "${env:LOCKSTEP_TOKEN_FILE}",
      description = "operator tokens, one 'name:token' or 'name:sha256:<hex>' a line (# comments); the audit names"
          + " the token's name (env LOCKSTEP_TOKEN_FILE)")
  Path tokenFile;

  @Option(names = "--agent-secret", defaultValue = "${env:LOCKSTEP_AGENT_SECRET}",
      description = "secret (16 bytes or more) each agent's own token is derived from; `lockstep agent-token` prints"
          + " one; required unless --agent-secret-file (env LOCKSTEP_AGENT_SECRET)")
  String agentSecret;

  @Option(names = "--agent-secret-file", paramLabel = "PATH", defaultValue = "${env:LOCKSTEP_AGENT_SECRET_FILE}",
      description = "file holding the agent secret, instead of --agent-secret (env LOCKSTEP_AGENT_SECRET_FILE)")
  Path agentSecretFile;

  @Option(names = "--agent-token", defaultValue = "${env:LOCKSTEP_AGENT_TOKEN}",
      description = "one token all agents share, for upgrades; only with --allow-shared-agent-token"
          + " (env LOCKSTEP_AGENT_TOKEN)")
  String agentToken;

  @Option(names = "--allow-shared-agent-token", defaultValue = "${env:LOCKSTEP_ALLOW_SHARED_AGENT_TOKEN:-false}",
      description = "accept --agent-token, with which any agent can report for any other (env LOCKSTEP_ALLOW_SHARED_AGENT_TOKEN)")
  boolean allowSharedAgentToken;

  @Option(names = "--lost-after", defaultValue = "${env:LOCKSTEP_LOST_AFTER:-10s}", description = "silence after which an agent is lost (default 10s)")
  String lostAfter;

  @Option(names = "--prepare-timeout", defaultValue = "${env:LOCKSTEP_PREPARE_TIMEOUT:-5m}", description = "how long PREPARING waits for every agent (default 5m)")
  String prepareTimeout;

  @Option(names = "--switch-timeout", defaultValue = "${env:LOCKSTEP_SWITCH_TIMEOUT:-5m}", description = "how long SWITCHING waits for every agent (default 5m)")
  String switchTimeout;

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

  @Option(names = "--rules", defaultValue = "${env:LOCKSTEP_RULES}",
      description = "folder of user rules (*.json: id, severity, message, detect, repair) (env LOCKSTEP_RULES)")
  Path rulesDir;

  @Option(names = "--primary-key", paramLabel = "TABLE=COLUMN", split = ",", defaultValue = "${env:LOCKSTEP_PRIMARY_KEYS}",
      description = "declare the key column of a table that lost its primary key, e.g. public.legacy=code"
          + " (repeatable or comma-separated; env LOCKSTEP_PRIMARY_KEYS)")
  List<String> primaryKeys;

  @Option(names = "--auth-failures", defaultValue = "${env:LOCKSTEP_AUTH_FAILURES:-10}",
      description = "failed authentications one remote address may make before its requests with a token get 429,"
          + " earned back evenly over --auth-failure-window (default 10)")
  int authFailures;

  @Option(names = "--auth-failure-window", defaultValue = "${env:LOCKSTEP_AUTH_FAILURE_WINDOW:-1m}",
      description = "the time in which an address earns back --auth-failures attempts (default 1m)")
  String authFailureWindow;

  @Option(names = "--max-event-streams", defaultValue = "${env:LOCKSTEP_MAX_EVENT_STREAMS:-8}",
      description = "release event streams one identity may hold open at once; more are refused with 429 (default 8)")
  int maxEventStreams;

  @Option(names = "--max-long-polls", defaultValue = "${env:LOCKSTEP_MAX_LONG_POLLS:-2}",
      description = "blocking desired-state queries one identity may hold open at once; more are refused with 429"
          + " (default 2)")
  int maxLongPolls;

  @Override
  public Integer call() throws Exception {
    CoordinatorConfig config = config();
    // Built before anything connects: a wrong engine option is a configuration error (exit 2), said in one line.
    MigrationEngine migrationEngine = engine.build(config.database(), config.migrations(), config.service(),
        config.lockTimeout());
    TlsFiles tlsFiles = TlsFiles.of(tlsCert, tlsKey, tlsClientCa);
    Duration reloadInterval = Durations.parse(tlsReloadInterval);
    if (reloadInterval.isZero()) {
      throw new IllegalArgumentException("--tls-reload-interval must be more than 0 (got " + tlsReloadInterval + ")");
    }
    ApiLimits limits = new ApiLimits(authFailures, Durations.parse(authFailureWindow), maxEventStreams, maxLongPolls);
    Clock clock = Clock.systemUTC();
    String instanceId = InetAddress.getLocalHost().getHostName() + "/" + ProcessHandle.current().pid();
    RedisOptions redisOptions = RedisOptions.of(RedisUrl.parse(config.redisUrl()), redisCaCert);
    RedisUrl redis = redisOptions.url();
    log.info("coordinator {} for service {}: database {}, redis {}, engine {}, migrations {}", instanceId, config.service(),
        config.database(), redis, migrationEngine.name(), engine.defaultSet(config.migrations()));
    log.info("operator tokens: {}; agents: {}", config.operatorTokens().names(),
        config.agentCredentials().tokens() == null ? "the shared agent token only" : "per-agent tokens from the agent secret"
            + (config.agentCredentials().allowsShared() ? ", and the shared agent token" : ""));
    if (config.agentCredentials().allowsShared()) {
      log.warn("--allow-shared-agent-token: the shared --agent-token is accepted, and any agent holding it can report for"
          + " any other agent of any service; give each agent its own token (`lockstep agent-token`) and drop the flag");
    }

    // A malformed rule file stops the coordinator here, naming the file, before it touches anything.
    List<UserRule> userRules = rulesDir == null ? List.of() : UserRules.load(rulesDir);
    RuleEngine rules = new RuleEngine(userRules);
    if (!userRules.isEmpty()) {
      log.info("loaded {} user rule(s) from {}: {}", userRules.size(), rulesDir,
          userRules.stream().map(UserRule::id).toList());
    }
    Map<String, String> declaredKeys = declaredKeys();

    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx vertx = Vertx.builder()
        .with(new VertxOptions().setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)))
        .withMetrics(new MicrometerMetricsFactory(meters))
        .build();
    // Everything that keeps in-memory state runs on one context, so none of it needs locks.
    var context = vertx.getOrCreateContext();
    // HTTP first, so /health and /ready answer while the stores are still out of reach; then the stores, retried.
    StoreState postgresState = StoreState.postgres(config.database(), clock);
    StoreState redisState = StoreState.redis(redis, clock);
    HealthRoutes health = new HealthRoutes(vertx, config.service(), postgresState, redisState);
    TlsMaterial tls;
    try {
      tls = tlsFiles == null ? null : TlsMaterial.read(vertx, tlsFiles);
    } catch (TlsFileException e) {
      vertx.close();
      throw e;
    }
    HttpServerOptions listenOptions = new HttpServerOptions().setPort(config.port()).setHost(host);
    ApiServer http = listen(vertx, context, tls == null ? listenOptions : tls.applyTo(listenOptions), health);
    if (http == null) {
      return 1;
    }
    CertificateReloader reloader = tls == null ? null : new CertificateReloader(vertx, http.server(), tls, reloadInterval);
    if (reloader != null) {
      context.runOnContext(v -> reloader.start());
      log.info("serving HTTPS with {}{}; the files are read again every {}", tls.describe(),
          tlsFiles.mutual() ? ", client certificates required (signed by " + tlsFiles.clientCa() + ")" : "",
          Durations.format(reloadInterval));
    } else if (!loopback(host)) {
      log.warn("serving plain HTTP on {}:{}, not a loopback address: operator and agent tokens cross the network in"
          + " the clear; give --tls-cert and --tls-key to serve HTTPS, or --host 127.0.0.1 for local use", host, config.port());
    }
    Connections connections = new Connections(config.database());
    RedissonClient redisson = new StoreStartup(postgresState, redisState, StoreStartup.Backoff.DEFAULT)
        .connect(connections, redisOptions, () -> Redisson.create(redisOptions.redisson(config.timings().lockLease())));
    // The pool follows the URL's sslmode and sslrootcert as JDBC does (it reads neither from the URL by itself).
    PgConnectOptions connect = PoolConnectOptions.of(config.database(), "lockstep-coordinator/" + config.service());
    Pool pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(8)).connectingTo(connect).using(vertx).build();
    // Two pools, so a check or a history read never queues behind a running migration (which may take hours).
    WorkerExecutor worker = vertx.createSharedWorkerExecutor("lockstep-migration", 4, 2, TimeUnit.HOURS);
    WorkerExecutor inspectionPool = vertx.createSharedWorkerExecutor("lockstep-inspection", 2, 30, TimeUnit.MINUTES);

    ReleaseStore store = new ReleaseStore(vertx, pool, clock);
    MigrationSetStore sets = new MigrationSetStore(pool, worker);
    AgentDepartures departures = new AgentDepartures(pool, clock);
    AgentRegistry registry = new AgentRegistry(vertx, redisson, clock, config.lostAfter(), departures);
    StagedSets staged = new StagedSets(sets, clock);
    DesiredStateWatch watch = new DesiredStateWatch(vertx, store, redisson);
    Nudges nudges = new Nudges(vertx, redisson);
    MigrationEngine migrationRunner = migrationEngine;
    // The rules see each release's own set (Preflight adds it per run), never this coordinator's folder.
    InspectionContext inspection = InspectionContext.empty().withDeclaredKeys(declaredKeys);
    Preflight preflight = new Preflight(rules, inspection, config.lockTimeout(),
        migrationEngine instanceof AlembicEngine alembic ? new CloneRehearsal(alembic, config.database()) : null);
    ReleaseMetrics releaseMetrics = new ReleaseMetrics(meters);
    FleetWait fleetWait = new FleetWait(registry, nudges, clock, config.lostAfter());
    ReleaseMachine machine = new ReleaseMachine(
        new Planning(migrationRunner, worker),
        new Preflighting(migrationRunner, preflight, connections, registry, worker),
        new Preparing(fleetWait, config.prepareTimeout(),
            new Backup(backupCommand, Durations.parse(backupTimeout), config.database().libpqUrl(), clock), worker),
        new Migrating(vertx, migrationRunner, new RepairStep(connections, rules, inspection, config.lockTimeout(), releaseMetrics), worker,
            config.lockTimeout(), config.timings().retryWait(), instanceId),
        new Switching(fleetWait, config.switchTimeout(), releaseMetrics, clock));
    ReleaseRun.Shared runs = new ReleaseRun.Shared(new ServiceLock.Factory(vertx, redisson), connections, store, sets,
        migrationRunner, watch, nudges, machine, new Ending(migrationRunner, worker, instanceId), worker, releaseMetrics, clock,
        instanceId);
    ReleaseService releases = new ReleaseService(vertx, config, store, registry, migrationRunner, worker, runs, nudges,
        clock, new NewInstances(vertx, sets, staged));
    AutoRelease arrivals = autoRelease ? new AutoRelease(vertx, config.service(), registry, store, releases,
        config.timings().orphanScan(), instanceId) : null;
    Checker checker = new Checker(config.service(), migrationRunner, preflight, connections, store, sets, inspectionPool);
    Baselines baselines = new Baselines(config.service(), migrationRunner, connections, store, runs.locks(), inspectionPool,
        clock, instanceId);
    Auth auth = new Auth(config.operatorTokens(), config.agentCredentials(), AuthFailureBudget.of(limits, clock));

    CountDownLatch started = new CountDownLatch(1);
    Throwable[] failure = new Throwable[1];
    FleetMetrics fleetMetrics = new FleetMetrics(vertx, registry, meters, config.service());
    ReleasePhaseGauge phaseGauge = new ReleasePhaseGauge(vertx, store, meters, config.service(), clock);
    context.runOnContext(v -> watch.start()
        .compose(x -> nudges.start())
        .onSuccess(x -> {
          fleetMetrics.start();
          phaseGauge.start();
        })
        .compose(x -> {
          http.serve(HttpApi.router(vertx, auth, registry, watch, nudges, releases, checker, baselines, store, sets, health,
              meters, limits, staged, departures));
          releases.watchForOrphans();
          return releases.resumeUnfinished();
        })
        .onSuccess(x -> {
          if (arrivals != null) {
            arrivals.start();
          }
        })
        .onComplete(r -> {
          failure[0] = r.cause();
          started.countDown();
        }));
    started.await();
    if (failure[0] != null) {
      log.error("coordinator could not start on port {}: {}", config.port(), failure[0].getMessage());
      shutdown(vertx, redisson, http.server(), List.of(worker, inspectionPool), pool);
      return 1;
    }
    health.started(pool, redisson);
    log.info("coordinator ready on port {} (agents lost after {})", http.server().actualPort(),
        Durations.format(config.lostAfter()));
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("coordinator stopping: no new requests; handing over any running release");
      long began = System.nanoTime();
      // Stop taking requests first, then bring each run to a safe point and let go of its lock and fence.
      if (reloader != null) {
        context.runOnContext(v -> reloader.stop());
      }
      if (arrivals != null) {
        context.runOnContext(v -> arrivals.stop());
      }
      closeQuietly(http.server());
      Duration grace = config.timings().shutdownGrace();
      awaitQuietly(Future.<Void>future(p -> context.runOnContext(v -> releases.handOver(grace).onComplete(p))),
          grace.plusSeconds(2));
      log.info("coordinator handed over in {} ms", (System.nanoTime() - began) / 1_000_000);
      fleetMetrics.stop();
      phaseGauge.stop();
      watch.stop();
      nudges.stop();
      shutdown(vertx, redisson, http.server(), List.of(worker, inspectionPool), pool);
      stop.countDown();
    }, "lockstep-shutdown"));
    stop.await();
    return 0;
  }

  private static ApiServer listen(Vertx vertx, io.vertx.core.Context context, HttpServerOptions options,
                                  HealthRoutes health) {
    try {
      ApiServer http = ApiServer.listen(context, options, health).await();
      log.info("coordinator listening on {}:{} ({}); not ready until PostgreSQL and Redis answer", options.getHost(),
          http.server().actualPort(), options.isSsl() ? "HTTPS" : "plain HTTP");
      return http;
    } catch (Exception e) {
      log.error("coordinator could not listen on {}:{}: {}", options.getHost(), options.getPort(), e.getMessage());
      vertx.close();
      return null;
    }
  }

  private static void shutdown(Vertx vertx, RedissonClient redisson, HttpServer server, List<WorkerExecutor> workers,
                               Pool pool) {
    try {
      closeQuietly(server);
      workers.forEach(WorkerExecutor::close);
      pool.close();
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("unclean shutdown: {}", e.getMessage());
    } finally {
      redisson.shutdown();
    }
  }

  private static void closeQuietly(HttpServer server) {
    if (server != null) {
      awaitQuietly(server.close(), Duration.ofSeconds(5));
    }
  }

  private static void awaitQuietly(Future<?> future, Duration limit) {
    try {
      future.toCompletionStage().toCompletableFuture().get(limit.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      log.warn("shutdown step did not finish cleanly: {}", e.getMessage());
    }
  }

  private CoordinatorConfig config() {
    OperatorTokens operators = OperatorTokens.load(token, tokenFile);
    AgentCredentials agents = AgentCredentials.load(agentSecret, agentSecretFile, agentToken, allowSharedAgentToken, operators);
    // Without a folder the coordinator still runs: every release (and check) then uploads its set.
    if (migrations != null && !Files.isDirectory(migrations)) {
      throw new IllegalArgumentException("migrations folder " + migrations.toAbsolutePath() + " does not exist");
    }
    RedisUrl.parse(redisUrl);
    return new CoordinatorConfig(port, DatabaseUrl.parse(databaseUrl), redisUrl, service,
        migrations == null ? null : migrations.toAbsolutePath(),
        operators, agents, Durations.parse(lostAfter), Durations.parse(prepareTimeout), Durations.parse(switchTimeout),
        Durations.parse(lockTimeout),
        new CoordinatorConfig.Timings(Durations.parse(orphanScan), Durations.parse(lockLease), Durations.parse(retryWait),
            Durations.parse(shutdownGrace)));
  }

  /** Whether {@code host} is a loopback address only (127.0.0.1, ::1, localhost); 0.0.0.0 is every address. */
  private static boolean loopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  private Map<String, String> declaredKeys() {
    Map<String, String> keys = new LinkedHashMap<>();
    for (String pair : primaryKeys == null ? List.<String>of() : primaryKeys) {
      int eq = pair.indexOf('=');
      if (eq <= 0 || eq == pair.length() - 1) {
        throw new IllegalArgumentException("--primary-key takes TABLE=COLUMN, e.g. public.legacy=code (got '" + pair + "')");
      }
      keys.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
    }
    return keys;
  }

}
