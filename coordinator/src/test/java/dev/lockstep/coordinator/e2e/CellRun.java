package dev.lockstep.coordinator.e2e;

import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import dev.lockstep.testkit.TestRedisSentinel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * One run of one {@link Cell}: a database, a Redis if the cell needs its own, and a {@link Fleet} of real
 * coordinator and agent processes, plus what a script needs to strike at the right moment (wait for a
 * phase, find the coordinator running the release, kill it) and what the checker needs afterwards. A
 * sampler thread watches the release's phase and the fence every 25 ms and keeps a timeline, so a run
 * that fails says what happened and when.
 *
 * <p>All times are epoch milliseconds on this machine's clock; PostgreSQL and the processes share it.
 */
final class CellRun implements AutoCloseable {
  /** How long the release must stay as it ended, with every coordinator up, before it is judged. */
  static final Duration SETTLE = Duration.ofSeconds(3);
  /** Flags of every coordinator in the matrix: fast failover. */
  static final String[] COORDINATOR_FLAGS = {"--orphan-scan", "1s", "--lock-lease", "2s", "--retry-wait", "500ms",
      "--shutdown-grace", "5s"};

  final Cell cell;
  final int repetition;
  final Path dir;
  final TestDatabase db;
  final RedisServer redis;
  /** The run's Sentinel set, for cells whose coordinators use one; else null. */
  final TestRedisSentinel sentinel;
  final Fleet fleet;
  final long startedAt = System.currentTimeMillis();

  private final Sampler sampler;
  private final List<Mark> timeline = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();
  private final Map<String, String> requests = new java.util.concurrent.ConcurrentHashMap<>();
  private String releaseId;
  private Long faultAt;
  private long epochAtFault;
  private String loadAtFault;
  /** When every started coordinator had answered after the release ended ({@link #awaitCoordinatorsAnswer}). */
  private long answeredAt;

  /** A line of the run's timeline. */
  record Mark(long at, String what) {}

  /** One acquisition of the fence, as the sampler saw it. */
  record Acquisition(long epoch, String holder, String coordinator, long at) {}

  private CellRun(Cell cell, int repetition) {
    this.cell = cell;
    this.repetition = repetition;
    String slug = slug(cell.name()) + "-" + repetition;
    this.dir = Path.of("target", "e2e", "FaultMatrixIT", slug).toAbsolutePath();
    deleteTree(dir);
    this.db = TestPostgres.instance().createDatabase("matrix_" + slug.replace('-', '_'));
    this.redis = cell.shape().redis() == Cell.RedisForm.OWN_SERVER ? startRedis(dir) : null;
    this.sentinel = cell.shape().redis() == Cell.RedisForm.SENTINEL ? startSentinel(dir, db) : null;
    this.fleet = sentinel != null ? new Fleet("FaultMatrixIT/" + slug, db, sentinel.url(), sentinel::primaryUrl)
        : new Fleet("FaultMatrixIT/" + slug, db, redis == null ? null : redis.url());
    this.sampler = new Sampler();
  }

  private static TestRedisSentinel startSentinel(Path dir, TestDatabase db) {
    try {
      return TestRedisSentinel.start(dir.resolve("redis"));
    } catch (RuntimeException e) {
      db.close();
      throw e;
    }
  }

  private static RedisServer startRedis(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return RedisServer.start(dir);
  }

  /** Creates everything the cell's shape asks for and waits until the agents are registered. */
  static CellRun start(Cell cell, int repetition) {
    CellRun run = new CellRun(cell, repetition);
    try {
      run.startFleet();
    } catch (RuntimeException | Error e) {
      run.close();
      throw e;
    }
    return run;
  }

  private void startFleet() {
    Cell.Shape shape = cell.shape();
    Path migrations = fleet.folder("migrations", shape.migrations().files(shape.rehearsalSleeps()));
    if (shape.migrations().startsAt() != null) {
      // Where an earlier release left it: a release from the empty schema has no old code, so no contract phase.
      org.flywaydb.core.Flyway.configure().dataSource(fleet.database.jdbcUrl(), fleet.database.user(), fleet.database.password())
          .locations("filesystem:" + migrations).target(shape.migrations().startsAt()).load().migrate();
    }
    fleet.configureCoordinators(migrations, COORDINATOR_FLAGS);
    List<Fleet.Coordinator> now = new ArrayList<>();
    for (int i = 1; i <= shape.coordinators() + shape.late(); i++) {
      Fleet.Coordinator c = fleet.addCoordinator("c" + i);
      if (i <= shape.coordinators()) {
        now.add(c);
      }
    }
    fleet.agentsUse(fleet.coordinators().stream().map(Fleet.Coordinator::url).toArray(String[]::new));
    now.forEach(Fleet.Coordinator::start);
    for (Cell.AgentShape a : shape.agents()) {
      fleet.startAgent(Fleet.AgentSpec.of(a.id(), Cell.OLD_REVISION, migrations)
          .preparingFor(a.prepareSeconds()).switchingFor(a.switchSeconds()));
    }
    now.forEach(Fleet.Coordinator::awaitReady);
    fleet.awaitAgents(shape.agents().stream().map(Cell.AgentShape::id).toArray(String[]::new));
    sampler.start();
    mark("fleet ready: " + now + ", agents " + fleet.agentIds());
  }

  // ---- the release ---------------------------------------------------------------------------------------------

  /** Requests the release (revision v1, the cell's mode) from the primary. */
  String release() {
    return release(fleet.coordinators().get(0));
  }

  String release(Fleet.Coordinator to) {
    HttpResponse<String> response = postRelease(to);
    if (response.statusCode() != 202) {
      throw new AssertionError("release request to " + to.name + " answered " + response.statusCode() + ": " + response.body());
    }
    releaseId = Json.read(response.body(), ReleaseDocument.class).id();
    mark("release " + releaseId + " requested from " + to.name);
    return releaseId;
  }

  /** POSTs a release request to {@code to} and returns the raw answer (status and body). */
  HttpResponse<String> postRelease(Fleet.Coordinator to) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("revision", Cell.NEW_REVISION);
    if (cell.shape().mode() != null) {
      body.put("mode", cell.shape().mode().wireName());
    }
    return post(to, "/v1/releases", Json.write(body));
  }

  /** Adopts a release created some other way (e.g. by one of two racing requests). */
  void adopt(String id) {
    releaseId = id;
  }

  /** Sends the operator's abort for the release to {@code to}; records and returns the answer. */
  HttpResponse<String> abortVia(Fleet.Coordinator to) {
    HttpResponse<String> response = post(to, "/v1/releases/" + releaseId + "/abort", "{}");
    mark("operator abort sent to " + to.name + ": " + response.statusCode() + " " + abbreviate(response.body(), 160));
    requests.put("abort", response.statusCode() + " " + response.body());
    return response;
  }

  private HttpResponse<String> post(Fleet.Coordinator to, String path, String json) {
    HttpRequest request = HttpRequest.newBuilder(URI.create(to.url() + path))
        .header("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN).header("Content-Type", "application/json")
        .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(json)).build();
    try {
      return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  String releaseId() {
    return releaseId;
  }

  /** The release as stored now, or null before it exists. */
  ReleaseDocument doc() {
    String json = queryString("SELECT lockstep.release_document(r)::text FROM lockstep.releases r WHERE id = ?", releaseId);
    return json == null ? null : Json.read(json, ReleaseDocument.class);
  }

  // ---- waiting for the moment -------------------------------------------------------------------------------

  /** Waits until the release is in {@code phase}; fails if it ends first. */
  void awaitPhase(Phase phase) {
    awaitMoment("phase " + phase, Duration.ofSeconds(60), () -> sampler.phase == phase);
  }

  /** Waits until the migration connection runs the slow statement ({@code pg_sleep}) of a migration. */
  void awaitMigrationSleeping() {
    awaitMoment("a migration in pg_sleep", Duration.ofSeconds(60), () -> count(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'"
            + " AND application_name = ? AND query ILIKE '%pg_sleep%'", "lockstep-migrate/" + fleet.service) > 0);
  }

  /** Waits until {@code agent} has run {@code hook} for this release (its line is in the hook log). */
  void awaitHook(String agent, String hook) {
    String needle = " " + agent + " " + hook + " " + releaseId + " ";
    awaitMoment(agent + "'s " + hook + " hook", Duration.ofSeconds(60),
        () -> fleet.hookLines().stream().anyMatch(l -> l.contains(needle)));
  }

  /** Waits until the history shows version {@code version} applied. */
  void awaitApplied(String version) {
    awaitMoment("V" + version + " applied", Duration.ofSeconds(60), () -> count(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'flyway_schema_history'") > 0
        && count("SELECT count(*) FROM flyway_schema_history WHERE version = ? AND success", version) > 0);
  }

  private void awaitMoment(String what, Duration atMost, BooleanSupplier reached) {
    long deadline = System.currentTimeMillis() + atMost.toMillis();
    while (!reached.getAsBoolean()) {
      Phase now = sampler.phase;
      if (now != null && now.isTerminal()) {
        throw new AssertionError("the release ended " + now + " before " + what + " (the fault could not strike); "
            + Optional.ofNullable(doc()).map(ReleaseDocument::reason).orElse(""));
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("no " + what + " within " + atMost.toSeconds() + " s (release at " + now + ")");
      }
      pause(15);
    }
    mark("reached: " + what);
  }

  /** Waits until the release is in a terminal phase, up to 90 s; returns it. */
  ReleaseDocument awaitTerminal() {
    long deadline = System.currentTimeMillis() + 90_000;
    while (sampler.terminalAt == null && System.currentTimeMillis() < deadline) {
      pause(25);
    }
    ReleaseDocument d = doc();
    if (sampler.terminalAt == null) {
      mark("not terminal after 90 s: " + (d == null ? "no release" : d.phase()));
    }
    return d;
  }

  /** Waits until the fence moved past the epoch it had at the fault (another run took it); returns the new runner. */
  Fleet.Coordinator awaitTakeover() {
    long deadline = System.currentTimeMillis() + 60_000;
    while (sampler.epoch <= epochAtFault) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("no coordinator took the fence over within 60 s of the fault (epoch still " + sampler.epoch + ")");
      }
      pause(15);
    }
    Fleet.Coordinator runner = runner();
    mark("took over: " + runner.name + " (epoch " + sampler.epoch + ")");
    return runner;
  }

  // ---- faults ----------------------------------------------------------------------------------------------------

  /** The coordinator that holds the fence now (the one running the release). */
  Fleet.Coordinator runner() {
    String holder = sampler.holder != null ? sampler.holder
        : queryString("SELECT holder FROM lockstep.fence WHERE service = ?", fleet.service);
    if (holder == null) {
      throw new AssertionError("no coordinator holds the fence of " + fleet.service);
    }
    long pid = Long.parseLong(holder.substring(holder.lastIndexOf('/') + 1));
    return fleet.coordinatorByPid(pid).orElseThrow(() -> new AssertionError("fence holder " + holder + " is no coordinator of this fleet"));
  }

  /** Marks the fault's moment (the zero of the recovery times) and injects it. */
  void fault(String what, Runnable inject) {
    faultAt = System.currentTimeMillis();
    epochAtFault = sampler.epoch;
    loadAtFault = loadAverage();
    mark("FAULT: " + what + " (load average " + loadAtFault + ")");
    inject.run();
  }

  /** kill -9 of the coordinator running the release; returns it. */
  Fleet.Coordinator kill9Runner() {
    Fleet.Coordinator runner = runner();
    fault("kill -9 " + runner, runner::kill);
    return runner;
  }

  /** SIGTERM to the coordinator running the release; notes when it exits. Returns it. */
  Fleet.Coordinator sigtermRunner() {
    Fleet.Coordinator runner = runner();
    Process process = runner.process();
    String key = "lockstep:lock:" + fleet.service;
    // Redisson's lock is a hash whose one field names its holder: the runner's, read before the signal.
    Object holderAtFault = RedisServer.call(fleet.redisKeysUrl(), "HKEYS", key);
    fault("SIGTERM " + runner, () -> runner.signal("TERM"));
    long sent = faultAt;
    process.onExit().thenAccept(p -> {
      long after = System.currentTimeMillis() - sent;
      String lock;
      try {
        Object ttl = RedisServer.call(fleet.redisKeysUrl(), "PTTL", key);
        Object holderNow = RedisServer.call(fleet.redisKeysUrl(), "HKEYS", key);
        long epochNow = count("SELECT epoch FROM lockstep.fence WHERE service = ?", fleet.service);
        // Held by the runner still (not by the coordinator that took over in the meantime): no handover.
        lock = ttl instanceof Long t && t > 0 && holderNow != null && holderNow.equals(holderAtFault)
            ? runner.name + " exited " + after + " ms after SIGTERM leaving the Redis lock " + key + " held (expires in " + t
                + " ms) and the fence at epoch " + epochNow + ": the release waits for the lease to run out"
            : "released: " + runner.name + " exited " + after + " ms after SIGTERM; the Redis lock " + (ttl instanceof Long t && t > 0
                ? "is held again (epoch " + epochNow + ")" : "is free");
      } catch (RuntimeException e) {
        lock = "could not read the lock when " + runner.name + " exited: " + e.getMessage();
      }
      requests.put("exit", lock);
      mark(lock + " (exit code " + p.exitValue() + ")");
    });
    return runner;
  }

  /**
   * PostgreSQL backends (pids) serving {@code c}'s current process in this database: its sockets to the
   * server (from {@code ss}) matched to {@code pg_stat_activity.client_port}.
   */
  List<Long> backendsOf(Fleet.Coordinator c) {
    List<Long> ports = new ArrayList<>();
    try {
      Process ss = new ProcessBuilder("ss", "-Htnp", "state", "established").redirectErrorStream(true).start();
      for (String line : new String(ss.getInputStream().readAllBytes()).split("\n")) {
        if (line.contains("pid=" + c.pid() + ",")) {
          String[] f = line.trim().split("\\s+");
          // Recv-Q Send-Q Local:Port Peer:Port users:(...)
          String local = f[2];
          String peer = f[3];
          if (peer.endsWith(":" + TestPostgres.instance().port())) {
            ports.add(Long.parseLong(local.substring(local.lastIndexOf(':') + 1)));
          }
        }
      }
      ss.waitFor();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    List<Long> pids = new ArrayList<>();
    for (Map<String, String> row : rows("SELECT pid, client_port FROM pg_stat_activity WHERE datname = current_database()")) {
      if (row.get("client_port") != null && ports.contains(Long.parseLong(row.get("client_port")))) {
        pids.add(Long.parseLong(row.get("pid")));
      }
    }
    return pids;
  }

  /** Answers to requests a script made (e.g. {@code "abort"} → status and body), for a cell's checks. */
  Map<String, String> requests() {
    return requests;
  }

  /** Starts a coordinator that was only given a port; does not wait for it. */
  void startLate(Fleet.Coordinator c) {
    c.start();
    mark("started " + c);
  }

  void note(String text) {
    notes.add(text);
    mark("note: " + text);
  }

  void mark(String what) {
    mark(System.currentTimeMillis(), what);
  }

  synchronized void mark(long at, String what) {
    timeline.add(new Mark(at, what));
  }

  static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  // ---- after the run ---------------------------------------------------------------------------------------------

  /**
   * Waits until every coordinator that was started has answered (so each had its chance to resume the
   * release); {@link #settle} then watches the release stay as it is.
   */
  void awaitCoordinatorsAnswer() {
    for (Fleet.Coordinator c : fleet.coordinators()) {
      if (c.alive()) {
        try {
          c.awaitReady();
        } catch (RuntimeException e) {
          mark(c.name + " did not become ready: " + e.getMessage());
        }
      }
    }
    answeredAt = System.currentTimeMillis();
  }

  /**
   * After {@link #awaitCoordinatorsAnswer}: waits until the release has been terminal and unchanged (phase, update
   * time, events) for {@link #SETTLE}, at most 60 s: a release that leaves its terminal phase does so within that
   * time, and one walked through its phases again is judged once it ended again.
   */
  void settle() {
    long readyAt = answeredAt == 0 ? System.currentTimeMillis() : answeredAt;
    mark("settling: " + SETTLE.toSeconds() + " s without change, in a terminal phase, with "
        + fleet.coordinators().stream().filter(Fleet.Coordinator::alive).toList());
    long deadline = readyAt + 60_000;
    while (System.currentTimeMillis() < deadline) {
      long quietSince = Math.max(readyAt, sampler.lastChangeAt);
      Phase now = sampler.phase;
      if (now != null && now.isTerminal() && System.currentTimeMillis() - quietSince >= SETTLE.toMillis()) {
        return;
      }
      pause(50);
    }
    mark("still changing (or not terminal) 60 s after every coordinator was up: judged as it is");
  }

  Long faultAt() {
    return faultAt;
  }

  /** The 1-minute load average when the fault struck (two cores here, shared): timings are read against it. */
  String loadAtFault() {
    return loadAtFault;
  }

  /** The 1-minute load average of this machine now, or "?" where /proc/loadavg does not exist. */
  static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }

  Long terminalSeenAt() {
    return sampler.terminalAt;
  }

  /** The release as the sampler first saw it terminal: phase, update time and number of events. */
  Snapshot terminalSnapshot() {
    return sampler.terminalSnapshot;
  }

  /**
   * The fence's epoch in the same read in which the sampler first saw the release terminal (one statement, so one
   * snapshot of both), or null before then.
   */
  Long fenceEpochWhenTerminal() {
    return sampler.terminalEpoch;
  }

  Snapshot snapshot() {
    ReleaseDocument d = doc();
    return new Snapshot(d == null ? null : d.phase(), d == null ? null : d.updatedAt(),
        count("SELECT count(*) FROM lockstep.release_events WHERE release_id = ?", releaseId));
  }

  /** Phase, last update and event count of the release at one moment. */
  record Snapshot(Phase phase, String updatedAt, long events) {}

  /** Every phase the sampler saw, in order, with when. */
  List<Mark> phases() {
    synchronized (sampler.phases) {
      return List.copyOf(sampler.phases);
    }
  }

  List<Acquisition> acquisitions() {
    synchronized (sampler.acquisitions) {
      return List.copyOf(sampler.acquisitions);
    }
  }

  /** The timeline, in time order. */
  synchronized List<Mark> timeline() {
    return timeline.stream().sorted(Comparator.comparingLong(Mark::at)).toList();
  }

  List<String> notes() {
    return List.copyOf(notes);
  }

  /** The release's events: seq, time (epoch ms), phase, message. */
  List<Event> events() {
    List<Event> events = new ArrayList<>();
    try (Connection c = connect(); PreparedStatement s = c.prepareStatement("SELECT seq, (extract(epoch FROM at) * 1000)::bigint,"
        + " phase, message FROM lockstep.release_events WHERE release_id = ? ORDER BY seq")) {
      s.setString(1, releaseId);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          events.add(new Event(rs.getLong(1), rs.getLong(2), Phase.valueOf(rs.getString(3)), rs.getString(4)));
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return events;
  }

  record Event(long seq, long at, Phase phase, String message) {}

  /** The coordinators answering HTTP now. */
  List<Fleet.Coordinator> liveCoordinators() {
    return fleet.coordinators().stream().filter(Fleet.Coordinator::alive).toList();
  }

  // ---- SQL -------------------------------------------------------------------------------------------------------

  Connection connect() throws SQLException {
    Connection c = db.connect();
    try (Statement s = c.createStatement()) {
      s.execute("SET application_name = 'matrix-probe'");
    }
    return c;
  }

  long count(String sql, Object... params) {
    try (Connection c = connect(); PreparedStatement s = c.prepareStatement(sql)) {
      bind(s, params);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("SQL failed: " + sql + ": " + e.getMessage(), e);
    }
  }

  String queryString(String sql, Object... params) {
    try (Connection c = connect(); PreparedStatement s = c.prepareStatement(sql)) {
      bind(s, params);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("SQL failed: " + sql + ": " + e.getMessage(), e);
    }
  }

  /** Rows of {@code sql}, each as column label → value text. */
  List<Map<String, String>> rows(String sql, Object... params) {
    List<Map<String, String>> rows = new ArrayList<>();
    try (Connection c = connect(); PreparedStatement s = c.prepareStatement(sql)) {
      bind(s, params);
      try (ResultSet rs = s.executeQuery()) {
        int columns = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          Map<String, String> row = new LinkedHashMap<>();
          for (int i = 1; i <= columns; i++) {
            row.put(rs.getMetaData().getColumnLabel(i), rs.getString(i));
          }
          rows.add(row);
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("SQL failed: " + sql + ": " + e.getMessage(), e);
    }
    return rows;
  }

  private static void bind(PreparedStatement s, Object... params) throws SQLException {
    for (int i = 0; i < params.length; i++) {
      s.setObject(i + 1, params[i]);
    }
  }

  // ---- teardown --------------------------------------------------------------------------------------------------

  /** Ends every process, drops the database, stops the run's Redis and removes the service's keys from the shared one. */
  @Override
  public void close() {
    sampler.stop();
    fleet.kill();
    if (redis != null) {
      redis.close();
    } else if (sentinel != null) {
      sentinel.close();
    } else {
      try {
        String url = fleet.redisKeysUrl();
        RedisServer.call(url, "DEL", "lockstep:agents:" + fleet.service, "lockstep:lock:" + fleet.service);
        RedisServer.call(url, "SREM", "lockstep:agent-services", fleet.service);
      } catch (RuntimeException ignored) {
        // keys of a test-only service; nothing else reads them
      }
    }
    db.close();
  }

  /**
   * Watches the release's phase and the fence every 25 ms on a connection of its own: the timeline of
   * phases, every acquisition of the fence, and the first moment the release was terminal.
   */
  private final class Sampler {
    volatile Phase phase;
    volatile long epoch;
    volatile String holder;
    volatile Long terminalAt;
    volatile Long terminalEpoch;
    volatile Snapshot terminalSnapshot;
    /** When the phase, the update time or the number of events last changed. */
    volatile long lastChangeAt = System.currentTimeMillis();
    private String lastUpdatedAt;
    private long lastEvents = -1;
    final List<Mark> phases = new ArrayList<>();
    final List<Acquisition> acquisitions = new ArrayList<>();
    private volatile boolean stopped;
    private Thread thread;

    void start() {
      thread = new Thread(this::loop, "matrix-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    void stop() {
      stopped = true;
      if (thread != null) {
        try {
          thread.join(2_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    private void loop() {
      while (!stopped) {
        try (Connection c = connect(); PreparedStatement s = c.prepareStatement(
            "SELECT (SELECT phase FROM lockstep.releases WHERE id = ?), f.epoch, f.holder,"
                + " (extract(epoch FROM f.acquired_at) * 1000)::bigint,"
                + " (SELECT document->>'updatedAt' FROM lockstep.releases WHERE id = ?),"
                + " (SELECT count(*) FROM lockstep.release_events WHERE release_id = ?)"
                + " FROM (SELECT 1) one LEFT JOIN lockstep.fence f ON f.service = ?")) {
          while (!stopped) {
            String id = releaseId;
            s.setString(1, id);
            s.setString(2, id);
            s.setString(3, id);
            s.setString(4, fleet.service);
            try (ResultSet rs = s.executeQuery()) {
              rs.next();
              observe(rs.getString(1) == null ? null : Phase.valueOf(rs.getString(1)), rs.getLong(2), rs.getString(3),
                  rs.getLong(4), rs.getString(5), rs.getLong(6));
            }
            Thread.sleep(25);
          }
        } catch (SQLException e) {
          // the database was dropped at the end, or is busy; try again
          if (!stopped) {
            pause(100);
          }
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    private void observe(Phase now, long epochNow, String holderNow, long acquiredAt, String updatedAt, long events) {
      long t = System.currentTimeMillis();
      if (now != phase || events != lastEvents || !java.util.Objects.equals(updatedAt, lastUpdatedAt)) {
        lastChangeAt = t;
        lastEvents = events;
        lastUpdatedAt = updatedAt;
      }
      if (now != phase) {
        synchronized (phases) {
          phases.add(new Mark(t, String.valueOf(now)));
        }
        if (phase != null || now != null) {
          mark("phase " + phase + " → " + now);
        }
        phase = now;
        if (now != null && now.isTerminal() && terminalAt == null) {
          terminalAt = t;
          terminalSnapshot = new Snapshot(now, updatedAt, events);
          terminalEpoch = epochNow;
        }
      }
      if (epochNow != epoch) {
        String name = holderNow == null ? "?" : fleet.coordinatorByPid(
            Long.parseLong(holderNow.substring(holderNow.lastIndexOf('/') + 1))).map(co -> co.name).orElse(holderNow);
        synchronized (acquisitions) {
          acquisitions.add(new Acquisition(epochNow, holderNow, name, acquiredAt));
        }
        mark(acquiredAt > 0 ? acquiredAt : t, "fence epoch " + epochNow + " taken by " + name + " (" + holderNow + ")");
        epoch = epochNow;
        holder = holderNow;
      }
    }
  }

  /** {@code +1234 ms} relative to the fault (or to the run's start before a fault). */
  String relative(long at) {
    long zero = faultAt != null ? faultAt : startedAt;
    long d = at - zero;
    return (d >= 0 ? "+" : "") + d + " ms";
  }

  static String abbreviate(String text, int max) {
    if (text == null) {
      return "";
    }
    String one = text.replace('\n', ' ');
    return one.length() <= max ? one : one.substring(0, max) + "…";
  }

  static String slug(String name) {
    return name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
  }

  private static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (var walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
