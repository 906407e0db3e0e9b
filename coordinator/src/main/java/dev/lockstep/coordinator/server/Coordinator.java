package dev.lockstep.coordinator.server;

import dev.lockstep.coordinator.baseline.Baselines;
import dev.lockstep.coordinator.config.CoordinatorConfig;
import dev.lockstep.coordinator.fleet.AgentRegistry;
import dev.lockstep.coordinator.fleet.DesiredStateWatch;
import dev.lockstep.coordinator.fleet.FleetMetrics;
import dev.lockstep.coordinator.http.ApiLimits;
import dev.lockstep.coordinator.http.ApiServer;
import dev.lockstep.coordinator.http.Auth;
import dev.lockstep.coordinator.http.AuthFailureBudget;
import dev.lockstep.coordinator.http.HealthRoutes;
import dev.lockstep.coordinator.http.HttpApi;
import dev.lockstep.coordinator.lock.ServiceLock;
import dev.lockstep.coordinator.migration.MigrationEngine;
import dev.lockstep.coordinator.preflight.Checker;
import dev.lockstep.coordinator.preflight.Preflight;
import dev.lockstep.coordinator.release.AutoRelease;
import dev.lockstep.coordinator.release.Backup;
import dev.lockstep.coordinator.release.CarriedSets;
import dev.lockstep.coordinator.release.ContractGauge;
import dev.lockstep.coordinator.release.Contracting;
import dev.lockstep.coordinator.release.PendingContracts;
import dev.lockstep.coordinator.release.Ending;
import dev.lockstep.coordinator.release.FleetWait;
import dev.lockstep.coordinator.release.Journals;
import dev.lockstep.coordinator.release.Migrating;
import dev.lockstep.coordinator.release.NewInstances;
import dev.lockstep.coordinator.release.Planning;
import dev.lockstep.coordinator.release.Preflighting;
import dev.lockstep.coordinator.release.Preparing;
import dev.lockstep.coordinator.release.ReleaseMachine;
import dev.lockstep.coordinator.release.ReleaseMetrics;
import dev.lockstep.coordinator.release.ReleasePhaseGauge;
import dev.lockstep.coordinator.release.ReleaseRuns;
import dev.lockstep.coordinator.release.ReleaseService;
import dev.lockstep.coordinator.release.RepairStep;
import dev.lockstep.coordinator.release.RunFence;
import dev.lockstep.coordinator.release.StagedSets;
import dev.lockstep.coordinator.release.StepRunner;
import dev.lockstep.coordinator.release.Switching;
import dev.lockstep.coordinator.store.AgentDepartures;
import dev.lockstep.coordinator.store.Connections;
import dev.lockstep.coordinator.store.MigrationSetStore;
import dev.lockstep.coordinator.store.Nudges;
import dev.lockstep.coordinator.store.PoolConnectOptions;
import dev.lockstep.coordinator.store.RedisOptions;
import dev.lockstep.coordinator.store.ReleaseStore;
import dev.lockstep.coordinator.store.StoreStartup;
import dev.lockstep.coordinator.store.StoreState;
import dev.lockstep.coordinator.tls.CertificateReloader;
import dev.lockstep.coordinator.tls.TlsFiles;
import dev.lockstep.coordinator.tls.TlsMaterial;
import dev.lockstep.protocol.Durations;
import dev.lockstep.rules.InspectionContext;
import dev.lockstep.rules.RuleEngine;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Context;
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
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's life: wired here, once, by constructor — each part given exactly what it uses — and started and
 * stopped in a fixed order. {@link #start} brings up Vert.x and HTTP with only {@code /health}, {@code /ready} and
 * {@code /live}, then PostgreSQL (and the {@code lockstep} schema) and Redis, retried until both answer, then the
 * parts that need them, the API, the orphan scan and the resumption of an unfinished release. {@link #stop} is the
 * ordered shutdown: stop taking requests, hand any running release over at its next safe point and let go of its
 * lock and fence, then the timers, the worker pools, the pool, Vert.x and Redis.
 *
 * <p>The lifecycle is an enum in an {@link AtomicReference}: a second {@code start()} is refused, a {@code stop()}
 * before or after the run does nothing, and a stop during start-up (the stores may be down for long) ends start-up,
 * which then stops whatever it had started.
 *
 * <pre>{@code
 * Coordinator coordinator = new Coordinator(settings, Clock.systemUTC());
 * if (!coordinator.start()) { exit(1); }
 * Runtime.getRuntime().addShutdownHook(new Thread(coordinator::stop));
 * }</pre>
 */
public final class Coordinator {
  private static final Logger log = LoggerFactory.getLogger(Coordinator.class);

  /** Where a coordinator is in its life. */
  public enum State { NEW, STARTING, RUNNING, STOPPING, STOPPED }

  /**
   * What {@code serve}'s options resolve to: everything the coordinator is built from.
   *
   * @param config ports, stores, service, tokens and the release timings
   * @param host the address to listen on
   * @param tls the certificate files to serve HTTPS with, or null for plain HTTP
   * @param tlsReload how often {@code tls}'s files are read again
   * @param redis how to reach Redis (URL, TLS)
   * @param limits what one caller may ask of the API
   * @param engine the migration tool
   * @param rules the repair rules, built-in and the user's
   * @param declaredKeys {@code --primary-key}: table → key column
   * @param backupCommand {@code --backup-command}, or null
   * @param backupTimeout how long the backup command may run
   * @param autoRelease {@code --auto-release}
   * @param httpLoops {@code --http-loops}: how many event loops serve HTTP
   */
  public record Settings(CoordinatorConfig config, String host, TlsFiles tls, Duration tlsReload, RedisOptions redis,
                         ApiLimits limits, MigrationEngine engine, RuleEngine rules, Map<String, String> declaredKeys,
                         String backupCommand, Duration backupTimeout, boolean autoRelease, int httpLoops) {}

  /**
   * The coordinator's own fallback periods, which no flag sets: how often a lost nudge is made up for, and how start-up
   * retries its stores. Tests shorten them instead of sleeping; production uses {@link #DEFAULT}.
   *
   * @param desiredStateReread how often long polls re-read the desired state without a nudge
   * @param fleetFallback how often a phase waiting for the fleet re-reads the registry without a nudge
   * @param storeBackoff the waits between start-up attempts to reach PostgreSQL and Redis
   */
  public record Pacing(Duration desiredStateReread, Duration fleetFallback, StoreStartup.Backoff storeBackoff) {
    public static final Pacing DEFAULT = new Pacing(DesiredStateWatch.DEFAULT_REREAD, FleetWait.DEFAULT_FALLBACK,
        StoreStartup.Backoff.DEFAULT);
  }

  private final Settings settings;
  private final Pacing pacing;
  private final CoordinatorConfig config;
  private final Clock clock;
  private final String instanceId;
  private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
  private final CountDownLatch started = new CountDownLatch(1);
  /** The thread in start(), while it runs: stop() interrupts it (it may be retrying stores that are down). */
  private volatile Thread starter;
  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

  // Made by start(), in order; each null until then.
  private Vertx vertx;
  private Context context;
  private ApiServer http;
  private CertificateReloader reloader;
  private RedissonClient redisson;
  private Pool pool;
  private List<WorkerExecutor> workers = List.of();
  private DesiredStateWatch watch;
  private Nudges nudges;
  private FleetMetrics fleetMetrics;
  private ReleasePhaseGauge phaseGauge;
  private ContractGauge contractGauge;
  private ReleaseService releases;
  private AutoRelease arrivals;

  public Coordinator(Settings settings, Clock clock) throws java.net.UnknownHostException {
    this(settings, clock, Pacing.DEFAULT);
  }

  public Coordinator(Settings settings, Clock clock, Pacing pacing) throws java.net.UnknownHostException {
    this.settings = settings;
    this.pacing = pacing;
    this.config = settings.config();
    this.clock = clock;
    this.instanceId = InetAddress.getLocalHost().getHostName() + "/" + ProcessHandle.current().pid();
  }

  public State state() {
    return state.get();
  }

  /** This instance's name in the fence, the audit and the events: {@code host/pid}. */
  public String instanceId() {
    return instanceId;
  }

  /** The port HTTP listens on (the one asked for, or the one picked for 0); -1 before it listens. */
  public int port() {
    return http == null ? -1 : http.server().actualPort();
  }

  /**
   * Starts every part, blocking until the coordinator serves the whole API or could not start (the reason logged, and
   * whatever had started stopped again).
   *
   * @return whether it runs
   * @throws IllegalStateException when called a second time
   * @throws IllegalArgumentException when a store refuses the coordinator for good (a wrong password, a certificate
   *     that does not match), naming the store and the fix
   */
  public boolean start() throws Exception {
    if (!state.compareAndSet(State.NEW, State.STARTING)) {
      throw new IllegalStateException("coordinator " + instanceId + " cannot be started more than once (it is "
          + state.get() + ")");
    }
    starter = Thread.currentThread();
    boolean running = false;
    try {
      running = startParts();
      return running;
    } catch (InterruptedException e) {
      // stop() during start-up: whatever had started stops, and so does this coordinator.
      log.info("coordinator stopped while starting");
      closeAll();
      return false;
    } finally {
      starter = null;
      if (running) {
        Thread.interrupted(); // a stop() that came as start-up ended stops the running coordinator instead
      }
      state.set(running ? State.RUNNING : State.STOPPED);
      started.countDown();
    }
  }

  /** What the first release would wait for, read while the coordinator waits for one (Alembic: the folder's set). */
  private void warmUp(MigrationEngine engine, WorkerExecutor pool) {
    if (!engine.hasFolder() || "false".equals(System.getProperty("lockstep.coordinator.warmUp"))) {
      return;
    }
    long began = System.nanoTime();
    pool.executeBlocking(() -> {
      engine.warmUp();
      return null;
    }, false).onComplete(r -> {
      if (r.succeeded()) {
        log.debug("read the {} set of the folder ahead of a release in {} ms", engine.name(),
            (System.nanoTime() - began) / 1_000_000);
      } else {
        // Said at start rather than at the first release: an env.py that needs a variable it is not given, a folder
        // Flyway refuses, or a database that does not answer yet. A release reads the set again.
        log.warn("could not read the {} set of the folder ahead of a release ({}); a release reads it again and fails"
            + " the same way unless this is fixed or was passing", engine.name(), r.cause().getMessage());
      }
    });
  }

  private boolean startParts() throws Exception {
    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    vertx = Vertx.builder()
        .with(new VertxOptions().setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)))
        .withMetrics(new EarlyConnectionMetrics(new MicrometerMetricsFactory(meters)))
        .build();
    // Threads (docs/architecture.md, "Event loops"): the release runs, their timers and the periodic readers live on
    // this one context, as before, so their state needs no locks; the HTTP API runs on --http-loops event loops, and
    // what its handlers share is safe from any loop (concurrent maps, synchronized budgets, Redis and PostgreSQL
    // clients), or hops to this context (ReleaseService.start).
    context = vertx.getOrCreateContext();
    // HTTP first, so /health and /ready answer while the stores are still out of reach; then the stores, retried.
    StoreState postgresState = StoreState.postgres(config.database(), clock);
    StoreState redisState = StoreState.redis(settings.redis().url(), clock);
    HealthRoutes health = new HealthRoutes(vertx, config.service(), postgresState, redisState);
    TlsMaterial tls;
    try {
      tls = settings.tls() == null ? null : TlsMaterial.read(vertx, settings.tls());
    } catch (RuntimeException e) {
      closeAll();
      throw e;
    }
    HttpServerOptions listenOptions = new HttpServerOptions().setPort(config.port()).setHost(settings.host());
    http = listen(tls == null ? listenOptions : tls.applyTo(listenOptions), health);
    if (http == null) {
      closeAll();
      return false;
    }
    if (tls != null) {
      reloader = new CertificateReloader(vertx, http.servers(), tls, settings.tlsReload());
      context.runOnContext(v -> reloader.start());
      log.info("serving HTTPS with {}{}; the files are read again every {}", tls.describe(),
          settings.tls().mutual() ? ", client certificates required (signed by " + settings.tls().clientCa() + ")" : "",
          Durations.format(settings.tlsReload()));
    } else if (!loopback(settings.host())) {
      log.warn("serving plain HTTP on {}:{}, not a loopback address: operator and agent tokens cross the network in"
          + " the clear; give --tls-cert and --tls-key to serve HTTPS, or --host 127.0.0.1 for local use",
          settings.host(), config.port());
    }
    Connections connections = new Connections(config.database());
    RedisOptions redisOptions = settings.redis();
    try {
      redisson = new StoreStartup(postgresState, redisState, pacing.storeBackoff())
          .connect(connections, redisOptions, () -> Redisson.create(redisOptions.redisson(config.timings().lockLease())));
    } catch (Exception e) {
      closeAll(); // a misconfigured store: what started stops, and the caller reports the reason
      throw e;
    }
    // The pool follows the URL's sslmode and sslrootcert as JDBC does (it reads neither from the URL by itself).
    PgConnectOptions connect = PoolConnectOptions.of(config.database(), "lockstep-coordinator/" + config.service());
    pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(8)).connectingTo(connect).using(vertx).build();
    // Two pools, so a check or a history read never queues behind a running migration (which may take hours).
    WorkerExecutor migrationPool = vertx.createSharedWorkerExecutor("lockstep-migration", 4, 2, TimeUnit.HOURS);
    WorkerExecutor inspectionPool = vertx.createSharedWorkerExecutor("lockstep-inspection", 2, 30, TimeUnit.MINUTES);
    workers = List.of(migrationPool, inspectionPool);

    MigrationEngine engine = settings.engine();
    ReleaseStore store = new ReleaseStore(vertx, pool, clock);
    // Sets are read by checks, history and uploads as well as by runs: the inspection pool, never the migrations'.
    MigrationSetStore sets = new MigrationSetStore(pool, inspectionPool);
    AgentDepartures departures = new AgentDepartures(pool, clock);
    AgentRegistry registry = new AgentRegistry(vertx, redisson, clock, config.lostAfter(), departures);
    StagedSets staged = new StagedSets(sets, clock);
    watch = new DesiredStateWatch(vertx, store, redisson, pacing.desiredStateReread());
    nudges = new Nudges(vertx, redisson);
    // The rules see each release's own set (Preflight adds it per run), never this coordinator's folder.
    InspectionContext inspection = InspectionContext.empty().withDeclaredKeys(settings.declaredKeys());
    Preflight preflight = new Preflight(settings.rules(), inspection, engine);
    ReleaseMetrics releaseMetrics = new ReleaseMetrics(meters);
    FleetWait fleetWait = new FleetWait(registry, nudges, clock, config.lostAfter(), pacing.fleetFallback());
    StepRunner steps = new StepRunner(vertx, engine, migrationPool, config.lockTimeout(), config.timings().retryWait(),
        instanceId);
    ReleaseMachine machine = new ReleaseMachine(
        new Planning(engine, migrationPool),
        new Preflighting(engine, preflight, connections, registry, migrationPool),
        new Preparing(fleetWait, config.prepareTimeout(), new Backup(settings.backupCommand(), settings.backupTimeout(),
            config.database().libpqUrl(), clock), migrationPool),
        new Migrating(engine, new RepairStep(connections, settings.rules(), inspection, config.lockTimeout(),
            releaseMetrics), steps, migrationPool),
        new Switching(fleetWait, config.switchTimeout(), releaseMetrics, clock),
        new Contracting(registry, nudges, engine, steps, migrationPool, config.contractTimeout(), pacing.fleetFallback(),
            clock));
    ServiceLock.Factory locks = new ServiceLock.Factory(vertx, redisson);
    RunFence runFence = new RunFence(connections, migrationPool, instanceId);
    CarriedSets carriedSets = new CarriedSets(sets, engine, migrationPool);
    ReleaseRuns runs = new ReleaseRuns(locks, runFence, carriedSets, new Journals(store, watch, nudges, clock, config.switchLead()), machine,
        new Ending(engine, migrationPool, instanceId), releaseMetrics);
    PendingContracts contracts = new PendingContracts(config.service(), store, registry, locks, runFence, carriedSets,
        engine, migrationPool, clock);
    releases = new ReleaseService(vertx, config.service(), config.timings(), store, registry, engine, migrationPool, runs,
        nudges, clock, new NewInstances(vertx, sets, staged), context);
    arrivals = settings.autoRelease() ? new AutoRelease(vertx, config.service(), registry, store, releases,
        config.timings().orphanScan(), instanceId) : null;
    Checker checker = new Checker(config.service(), engine, preflight, connections, store, sets, inspectionPool);
    Baselines baselines = new Baselines(config.service(), engine, connections, store, locks, inspectionPool, clock,
        instanceId);
    Auth auth = new Auth(config.operatorTokens(), config.agentCredentials(),
        AuthFailureBudget.of(settings.limits(), clock));
    fleetMetrics = new FleetMetrics(vertx, registry, meters, config.service());
    phaseGauge = new ReleasePhaseGauge(vertx, store, meters, config.service(), clock);
    contractGauge = new ContractGauge(vertx, store, meters, config.service());

    CountDownLatch ready = new CountDownLatch(1);
    Throwable[] failure = new Throwable[1];
    context.runOnContext(v -> watch.start()
        .compose(x -> nudges.start())
        .onSuccess(x -> {
          fleetMetrics.start();
          phaseGauge.start();
          contractGauge.start();
        })
        .compose(x -> {
          http.serve(HttpApi.router(vertx, auth, registry, watch, nudges, releases, checker, baselines, store, sets, health,
              meters, settings.limits(), staged, departures, contracts));
          releases.watchForOrphans();
          return releases.resumeUnfinished();
        })
        .onSuccess(x -> {
          if (arrivals != null) {
            arrivals.start();
          }
          warmUp(engine, migrationPool);
        })
        .onComplete(r -> {
          failure[0] = r.cause();
          ready.countDown();
        }));
    ready.await();
    if (failure[0] != null) {
      log.error("coordinator could not start on port {}: {}", config.port(), failure[0].getMessage());
      closeAll();
      return false;
    }
    health.started(pool, redisson);
    log.info("coordinator ready on port {} (agents lost after {})", http.server().actualPort(),
        Durations.format(config.lostAfter()));
    return true;
  }

  /**
   * The ordered shutdown: no new requests, any running release handed over at its next safe point (up to
   * {@code --shutdown-grace}) with its lock and fence let go, then everything else. Does nothing before {@link #start}
   * or a second time; during start-up it interrupts start-up and waits for it to stop what it had started.
   */
  public void stop() {
    if (state.compareAndSet(State.NEW, State.STOPPED)) {
      return;
    }
    Thread starting = starter;
    if (state.get() == State.STARTING && starting != null) {
      starting.interrupt();
    }
    try {
      started.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (!state.compareAndSet(State.RUNNING, State.STOPPING)) {
      return; // stopped already, or start-up failed and stopped what it had started
    }
    log.info("coordinator stopping: no new requests; handing over any running release");
    long began = System.nanoTime();
    if (reloader != null) {
      context.runOnContext(v -> reloader.stop());
    }
    if (arrivals != null) {
      context.runOnContext(v -> arrivals.stop());
    }
    http.servers().forEach(Coordinator::closeQuietly);
    Duration grace = config.timings().shutdownGrace();
    awaitQuietly(Future.<Void>future(p -> context.runOnContext(v -> releases.handOver(grace).onComplete(p))),
        grace.plusSeconds(2));
    log.info("coordinator handed over in {} ms", (System.nanoTime() - began) / 1_000_000);
    fleetMetrics.stop();
    phaseGauge.stop();
    contractGauge.stop();
    watch.stop();
    nudges.stop();
    closeAll();
    state.set(State.STOPPED);
  }

  private ApiServer listen(HttpServerOptions options, HealthRoutes health) {
    try {
      ApiServer server = ApiServer.listen(vertx, settings.httpLoops(), options, health).await();
      log.info("coordinator listening on {}:{} ({}, {} event loop(s)); not ready until PostgreSQL and Redis answer",
          options.getHost(), server.server().actualPort(), options.isSsl() ? "HTTPS" : "plain HTTP", settings.httpLoops());
      return server;
    } catch (Exception e) {
      log.error("coordinator could not listen on {}:{}: {}", options.getHost(), options.getPort(), e.getMessage());
      return null;
    }
  }

  private void closeAll() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      if (http != null) {
        http.servers().forEach(Coordinator::closeQuietly);
      }
      workers.forEach(WorkerExecutor::close);
      if (pool != null) {
        pool.close();
      }
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("unclean shutdown: {}", e.getMessage());
    } finally {
      if (redisson != null) {
        redisson.shutdown();
      }
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

  /** Whether {@code host} is a loopback address only (127.0.0.1, ::1, localhost); 0.0.0.0 is every address. */
  private static boolean loopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }
}
