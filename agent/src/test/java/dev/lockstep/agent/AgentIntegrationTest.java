package dev.lockstep.agent;

import dev.lockstep.protocol.Mode;

import dev.lockstep.protocol.DesiredState;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.AgentReport;
import dev.lockstep.protocol.AgentState;
import dev.lockstep.protocol.MigrationsDigest;
import dev.lockstep.protocol.Phase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The whole agent, in-process, against a fake coordinator over real HTTP, with real hook processes. */
class AgentIntegrationTest {
  private static final String TOKEN = "agent-secret";
  private static final Duration PATIENCE = Duration.ofSeconds(10);
  private static Vertx vertx;

  @TempDir
  Path dir;

  private FakeCoordinator coordinator;
  private Path migrations;
  private Path hookLog;
  private String deployment;
  private Agent agent;

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx(new VertxOptions().setFileSystemOptions(
        new FileSystemOptions().setFileCachingEnabled(false).setClassPathResolvingEnabled(false)));
  }

  @AfterAll
  static void stopVertx() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void setUp() throws Exception {
    coordinator = new FakeCoordinator(vertx, TOKEN, "shop");
    coordinator.start().await(5, TimeUnit.SECONDS);
    migrations = Files.createDirectories(dir.resolve("migrations"));
    Files.writeString(migrations.resolve("V1__init.sql"), "create table item (id bigint primary key);");
    Path staging = Files.createDirectories(dir.resolve("staging"));
    Files.writeString(staging.resolve("V2__price.sql"), "alter table item add column price numeric;");
    Files.writeString(dir.resolve("REVISION"), "rev-1\n");
    hookLog = dir.resolve("hooks.log");
  }

  @AfterEach
  void tearDown() throws Exception {
    if (deployment != null) {
      vertx.undeploy(deployment).await(10, TimeUnit.SECONDS);
    }
    coordinator.stop().await(10, TimeUnit.SECONDS);
  }

  /**
   * A server whose prepare hook stages V2 into the migrations folder and whose switch hook "deploys" by
   * writing the target into the REVISION file the revision command reads.
   */
  private AgentConfig config(List<URI> coordinators, String token) {
    String log = " >> " + hookLog;
    return AgentConfig.of(coordinators, "web-1", "shop", "unused", token)
        .withRevisionCommand("cat " + dir.resolve("REVISION"))
        .withMigrations(migrations)
        .withHooks(new AgentConfig.Hooks(
            "cp " + dir.resolve("staging") + "/*.sql " + migrations + " && echo prepare $LOCKSTEP_PHASE "
                + "$LOCKSTEP_RELEASE_ID $LOCKSTEP_AGENT_ID $LOCKSTEP_SERVICE" + log,
            "printf '%s\\n' \"$LOCKSTEP_TARGET_REVISION\" > " + dir.resolve("REVISION")
                + " && echo switch $LOCKSTEP_PHASE $LOCKSTEP_TARGET_REVISION" + log,
            "echo abort $LOCKSTEP_PHASE $LOCKSTEP_RELEASE_ID" + log))
        .withTimings(Duration.ofSeconds(5), Duration.ofMillis(200), Duration.ofSeconds(2),
            new AgentConfig.Retry(Duration.ofMillis(100), Duration.ofMillis(500)));
  }

  private void startAgent(AgentConfig config) throws Exception {
    agent = new Agent(config);
    deployment = vertx.deployVerticle(agent).await(10, TimeUnit.SECONDS);
  }

  private AgentReport awaitReport(String what, Predicate<AgentReport> matches) {
    return await(what).atMost(PATIENCE).pollInterval(Duration.ofMillis(20))
        .until(() -> coordinator.reports().stream().filter(matches).findFirst().orElse(null), r -> r != null);
  }

  private List<String> hookLines() throws IOException {
    return Files.exists(hookLog) ? Files.readAllLines(hookLog) : List.of();
  }

  @Test
  void followsARelease() throws Exception {
    String digestBefore = MigrationsDigest.of(migrations);
    startAgent(config(List.of(coordinator.url()), TOKEN));

    AgentReport first = awaitReport("a first report", r -> true);
    assertThat(first.id()).isEqualTo("web-1");
    assertThat(first.service()).isEqualTo("shop");
    assertThat(first.revision()).isEqualTo("rev-1");
    assertThat(first.state()).isEqualTo(AgentState.SERVING);
    assertThat(first.digest()).isNull();

    coordinator.publish("r1", Phase.PREPARING, 1, "rev-2");
    AgentReport prepared = awaitReport("PREPARED", r -> r.state() == AgentState.PREPARED);
    // The digest is taken after the hook staged V2, so it is the digest of what will be migrated.
    assertThat(prepared.digest()).isEqualTo(MigrationsDigest.of(migrations)).isNotEqualTo(digestBefore);
    assertThat(prepared.releaseId()).isEqualTo("r1");
    assertThat(prepared.epoch()).isEqualTo(1);
    assertThat(prepared.revision()).isEqualTo("rev-1");

    coordinator.publish("r1", Phase.MIGRATING, 1, "rev-2");
    coordinator.publish("r1", Phase.SWITCHING, 1, "rev-2");
    AgentReport switched = awaitReport("SWITCHED", r -> r.state() == AgentState.SWITCHED);
    assertThat(switched.revision()).isEqualTo("rev-2");
    assertThat(switched.switchedAt()).isNotNull();
    assertThat(switched.digest()).isEqualTo(prepared.digest());

    coordinator.publish("r1", Phase.COMPLETED, 1, "rev-2");
    AgentReport serving = awaitReport("SERVING r1",
        r -> r.state() == AgentState.SERVING && "r1".equals(r.releaseId()));
    assertThat(serving.revision()).isEqualTo("rev-2");
    assertThat(serving.switchedAt()).isEqualTo(switched.switchedAt());

    assertThat(hookLines()).containsExactly("prepare PREPARING r1 web-1 shop", "switch SWITCHING rev-2");
  }

  /**
   * Without hooks, preparing and switching end at once: each is reported as its end state alone (ReportPacing), so a
   * fleet's release costs the coordinator one report per agent and phase, not two. (The work in between is a digest of
   * two files and no process; {@link ReportPacing#TRANSITIONAL} is 100 ms.)
   */
  @Test
  void aStepThatEndsAtOnceIsReportedByItsEndStateAlone() throws Exception {
    startAgent(AgentConfig.of(List.of(coordinator.url()), "web-1", "shop", "rev-1", TOKEN).withMigrations(migrations)
        .withTimings(Duration.ofSeconds(5), Duration.ofMillis(200), Duration.ofSeconds(2),
            new AgentConfig.Retry(Duration.ofMillis(100), Duration.ofMillis(500))));
    awaitReport("a first report", r -> true);
    coordinator.publish("r1", Phase.PREPARING, 1, "rev-2");
    awaitReport("PREPARED", r -> r.state() == AgentState.PREPARED);
    coordinator.publish("r1", Phase.SWITCHING, 1, "rev-2");
    awaitReport("SWITCHED", r -> r.state() == AgentState.SWITCHED);

    assertThat(coordinator.reports()).extracting(AgentReport::state)
        .doesNotContain(AgentState.PREPARING, AgentState.SWITCHING);
    // Nor is the release's new epoch reported alone before prepared (Agent.adoptEpoch).
    assertThat(coordinator.reports()).filteredOn(r -> r.epoch() == 1).first()
        .extracting(AgentReport::state).isEqualTo(AgentState.PREPARED);
  }

  /** The switch hook's shell, forked once the agent prepared, waits; the switch lets that same process run the hook. */
  @Test
  void switchesThroughTheHookPrimedWhenItPrepared() throws Exception {
    AgentConfig config = config(List.of(coordinator.url()), TOKEN);
    config = config.withHooks(new AgentConfig.Hooks(config.hooks().onPrepare(),
        "echo switch pid $$" + " >> " + hookLog + " && " + config.hooks().onSwitch(), config.hooks().onAbort()));
    startAgent(config);
    coordinator.publish("r1", Phase.PREPARING, 1, "rev-2");
    awaitReport("PREPARED", r -> r.state() == AgentState.PREPARED);
    long shell = await("the primed switch hook's shell").atMost(PATIENCE).until(this::primedShell, pid -> pid > 0);
    Thread.sleep(200);
    assertThat(hookLines()).containsExactly("prepare PREPARING r1 web-1 shop");

    coordinator.publish("r1", Phase.MIGRATING, 1, "rev-2");
    coordinator.publish("r1", Phase.SWITCHING, 1, "rev-2");
    AgentReport switched = awaitReport("SWITCHED", r -> r.state() == AgentState.SWITCHED);
    assertThat(switched.revision()).isEqualTo("rev-2");
    assertThat(hookLines()).containsExactly("prepare PREPARING r1 web-1 shop", "switch pid " + shell,
        "switch SWITCHING rev-2");
    assertThat(primedShell()).isZero();
  }

  /**
   * A SWITCHING desired state with a switch time: the hook runs at that time, not when the agent learns of it (the
   * hook writes the wall clock in microseconds as its first line), and a desired state that arrives while the agent
   * waits is taken up at the same time.
   */
  @Test
  void theSwitchHookRunsAtTheSwitchTimeTheCoordinatorAnnounced() throws Exception {
    AgentConfig config = config(List.of(coordinator.url()), TOKEN);
    Path started = dir.resolve("started");
    config = config.withHooks(new AgentConfig.Hooks(config.hooks().onPrepare(),
        "date +%s%6N > " + started + " && " + config.hooks().onSwitch(), config.hooks().onAbort()));
    startAgent(config);
    coordinator.publish("r1", Phase.PREPARING, 1, "rev-2");
    awaitReport("PREPARED", r -> r.state() == AgentState.PREPARED);
    await("the primed switch hook's shell").atMost(PATIENCE).until(this::primedShell, pid -> pid > 0);

    Instant switchAt = Instant.now().plusMillis(700);
    DesiredState switching = new DesiredState("shop", 0, 1, "r1", Phase.SWITCHING, "rev-2", Mode.ONLINE, null, "2",
        false, null, false, switchAt.toString());
    coordinator.publish(switching);
    Thread.sleep(250);
    assertThat(started).as("the hook waits for its time").doesNotExist();
    coordinator.publish(switching); // the same state again, a new index: it waits on, and switches once
    AgentReport switched = awaitReport("SWITCHED", r -> r.state() == AgentState.SWITCHED);
    long startedMicros = Long.parseLong(Files.readString(started).strip());
    long switchAtMicros = switchAt.getEpochSecond() * 1_000_000 + switchAt.getNano() / 1_000;
    assertThat(startedMicros).as("the hook's start (µs) against the switch time").isGreaterThanOrEqualTo(switchAtMicros);
    // The switch time reported is when the hook ended, seen by the thread that waited for it.
    Instant reported = Instant.parse(switched.switchedAt());
    assertThat(reported.getEpochSecond() * 1_000_000 + reported.getNano() / 1_000).isGreaterThanOrEqualTo(startedMicros);
    assertThat(hookLines()).containsExactly("prepare PREPARING r1 web-1 shop", "switch SWITCHING rev-2");
  }

  /** A switch time past (the agent learned late) or further ahead than the longest wait (the clocks disagree): now. */
  @Test
  void aPastOrImplausibleSwitchTimeSwitchesAtOnce() throws Exception {
    startAgent(config(List.of(coordinator.url()), TOKEN));
    coordinator.publish("r1", Phase.PREPARING, 1, "rev-2");
    awaitReport("PREPARED", r -> r.state() == AgentState.PREPARED);
    Instant farAhead = Instant.now().plus(Agent.MAX_SWITCH_WAIT).plusSeconds(3600);
    coordinator.publish(new DesiredState("shop", 0, 1, "r1", Phase.SWITCHING, "rev-2", Mode.ONLINE, null, "2", false,
        null, false, farAhead.toString()));
    awaitReport("SWITCHED", r -> r.state() == AgentState.SWITCHED);

    coordinator.publish("r2", Phase.PREPARING, 1, "rev-3");
    awaitReport("PREPARED for r2", r -> r.state() == AgentState.PREPARED && "r2".equals(r.releaseId()));
    coordinator.publish(new DesiredState("shop", 0, 1, "r2", Phase.SWITCHING, "rev-3", Mode.ONLINE, null, "2", false,
        null, false, Instant.now().minusSeconds(1).toString()));
    awaitReport("SWITCHED to rev-3", r -> r.state() == AgentState.SWITCHED && "rev-3".equals(r.revision()));
  }

  @Test
  void anAbortAfterPreparingEndsThePrimedShellWithoutRunningTheHook() throws Exception {
    startAgent(config(List.of(coordinator.url()), TOKEN));
    coordinator.publish("r1", Phase.PREPARING, 1, "rev-2");
    awaitReport("PREPARED", r -> r.state() == AgentState.PREPARED);
    long shell = await("the primed switch hook's shell").atMost(PATIENCE).until(this::primedShell, pid -> pid > 0);

    coordinator.publish("r1", Phase.ABORTED, 1, "rev-2");
    awaitReport("ABORTED", r -> r.state() == AgentState.ABORTED);
    await("the primed shell ends").atMost(PATIENCE)
        .until(() -> ProcessHandle.of(shell).map(p -> !p.isAlive()).orElse(true));
    assertThat(hookLines()).containsExactly("prepare PREPARING r1 web-1 shop", "abort ABORTED r1");
    assertThat(Files.readString(dir.resolve("REVISION")).strip()).isEqualTo("rev-1");
  }

  /** The pid of this JVM's child that waits to run the switch hook; 0 if there is none. */
  private long primedShell() {
    return ProcessHandle.current().children()
        .filter(p -> p.isAlive() && p.info().commandLine().orElse("").contains("read -r line"))
        .mapToLong(ProcessHandle::pid).findFirst().orElse(0);
  }

  @Test
  void ignoresALowerEpoch() throws Exception {
    startAgent(config(List.of(coordinator.url()), TOKEN));
    coordinator.publish("r1", Phase.PREPARING, 5, "rev-2");
    awaitReport("PREPARED at epoch 5", r -> r.state() == AgentState.PREPARED && r.epoch() == 5);

    coordinator.publish("r1", Phase.ABORTED, 4, "rev-2");
    int seen = coordinator.reports().size();
    // Several report intervals: had it acted, ABORTED would have been reported by now.
    await().atMost(PATIENCE).until(() -> coordinator.reports().size() >= seen + 4);
    assertThat(coordinator.lastReport().state()).isEqualTo(AgentState.PREPARED);
    assertThat(coordinator.lastReport().epoch()).isEqualTo(5);
    assertThat(hookLines()).noneMatch(line -> line.startsWith("abort"));

    coordinator.publish("r1", Phase.ABORTED, 5, "rev-2");
    AgentReport aborted = awaitReport("ABORTED", r -> r.state() == AgentState.ABORTED);
    assertThat(aborted.revision()).isEqualTo("rev-1");
    assertThat(hookLines()).contains("abort ABORTED r1");
  }

  @Test
  void failsOverToTheNextCoordinator() throws Exception {
    URI dead = URI.create("http://127.0.0.1:1");
    startAgent(config(List.of(dead, coordinator.url()), TOKEN));

    awaitReport("a report through the second coordinator", r -> true);
    coordinator.publish("r1", Phase.PREPARING, 1, "rev-2");
    awaitReport("PREPARED", r -> r.state() == AgentState.PREPARED);
  }

  @Test
  void survivesTheCoordinatorRestarting() throws Exception {
    startAgent(config(List.of(coordinator.url()), TOKEN));
    awaitReport("a first report", r -> true);
    int port = coordinator.url().getPort();

    // Down until the agent has found it down (its next report failed), however long that takes, and no longer.
    ch.qos.logback.classic.Logger clientLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(CoordinatorClient.class);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged = new ch.qos.logback.core.read.ListAppender<>();
    logged.start();
    clientLog.addAppender(logged);
    try {
      coordinator.stop().await(5, TimeUnit.SECONDS);
      await("the agent finds the coordinator down").atMost(PATIENCE).until(() -> List.copyOf(logged.list).stream()
          .anyMatch(e -> e.getFormattedMessage().startsWith("cannot reach coordinator ")));
    } finally {
      clientLog.detachAppender(logged);
    }
    coordinator.reports().clear();
    coordinator.start(port).await(5, TimeUnit.SECONDS);

    awaitReport("a report after the restart", r -> true);
    coordinator.publish("r1", Phase.PREPARING, 1, "rev-2");
    awaitReport("PREPARED after the restart", r -> r.state() == AgentState.PREPARED);
  }

  @Test
  void returningAgentCatchesUpByPreparingThenSwitching() throws Exception {
    coordinator.publish("r1", Phase.COMPLETED, 3, "rev-2");
    startAgent(config(List.of(coordinator.url()), TOKEN));

    AgentReport serving = awaitReport("SERVING rev-2",
        r -> r.state() == AgentState.SERVING && "rev-2".equals(r.revision()));
    assertThat(serving.releaseId()).isEqualTo("r1");
    assertThat(serving.switchedAt()).isNotNull();
    assertThat(hookLines()).containsExactly("prepare PREPARING r1 web-1 shop", "switch SWITCHING rev-2");
  }

  @Test
  void handlesOnlyTheLatestDesiredStateAfterABusyHook() throws Exception {
    AgentConfig slowPrepare = config(List.of(coordinator.url()), TOKEN);
    slowPrepare = slowPrepare.withHooks(new AgentConfig.Hooks("sleep 1; " + slowPrepare.hooks().onPrepare(),
        slowPrepare.hooks().onSwitch(), slowPrepare.hooks().onAbort()));
    startAgent(slowPrepare);
    awaitReport("a first report", r -> true);

    coordinator.publish("r1", Phase.PREPARING, 1, "rev-2");
    // A hook running longer than ReportPacing.TRANSITIONAL is reported as running.
    awaitReport("PREPARING", r -> r.state() == AgentState.PREPARING);
    coordinator.publish("r1", Phase.MIGRATING, 1, "rev-2");
    coordinator.publish("r1", Phase.ABORTED, 1, "rev-2");

    awaitReport("ABORTED", r -> r.state() == AgentState.ABORTED);
    assertThat(hookLines()).containsExactly("prepare PREPARING r1 web-1 shop", "abort ABORTED r1");
    assertThat(agent.state().revision()).isEqualTo("rev-1");
  }

  @Test
  void refusedTokenIsLoggedAndTheAgentKeepsTrying() throws Exception {
    startAgent(config(List.of(coordinator.url()), "wrong-token"));

    await().atMost(PATIENCE).until(() -> coordinator.refusedRequests() >= 5);
    assertThat(coordinator.reports()).isEmpty();
    assertThat(agent.state().state()).isEqualTo(AgentState.SERVING);
  }

  @Test
  void failingPrepareHookIsReportedWithItsStderr() throws Exception {
    AgentConfig failing = config(List.of(coordinator.url()), TOKEN)
        .withHooks(new AgentConfig.Hooks("echo 'no space left on device' >&2; exit 3", null, null));
    startAgent(failing);

    coordinator.publish("r1", Phase.PREPARING, 1, "rev-2");
    AgentReport failed = awaitReport("FAILED", r -> r.state() == AgentState.FAILED);
    assertThat(failed.detail()).isEqualTo("prepare hook exited 3: no space left on device");
    assertThat(failed.releaseId()).isEqualTo("r1");

    coordinator.publish("r1", Phase.ABORTED, 1, "rev-2");
    AgentReport aborted = awaitReport("ABORTED", r -> r.state() == AgentState.ABORTED);
    assertThat(aborted.detail()).isNull();
  }
}
