package dev.lockstep.agent;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hooks this agent has running, one small file each, so that the agent's next life can stop a hook
 * this life left behind. Killing an agent (kill -9, the OOM killer) does not kill the hook it was running:
 * the shell and its children carry on. The restarted agent then catches up and runs the same hook again,
 * beside the first: two switches (two deploys) at once. The fault matrix saw exactly that ("an agent killed
 * @ SWITCHING"). So on start the agent first stops what its previous life left running
 * ({@link #stopLeftovers}), as a hook past its timeout is stopped.
 *
 * <p>Each hook gets an id that is written down <em>before</em> the hook is forked and that the hook carries in
 * its environment ({@value #MARKER}); its children inherit it. A leftover is found by that marker in
 * {@code /proc/<pid>/environ}, not by a pid written after the fork: an agent killed between the fork and that
 * write (it happened, 3 runs in 20) would otherwise leave a hook nobody knows about.
 *
 * <p>The files are {@code <java.io.tmpdir>/lockstep-agent/<service>/<id>/hooks/<hook id>}, each holding the
 * agent's pid, its start time and the hook's name. A file whose agent is still alive belongs to another agent
 * with the same identity on this host (a mistake, but not this agent's to undo): it is left alone. Linux only
 * (it reads {@code /proc}); elsewhere nothing is found and nothing is stopped.
 *
 * <pre>{@code HookLedger ledger = HookLedger.of("shop", "web-1");
 * ledger.stopLeftovers();                  // at start, before taking part in anything
 * String id = ledger.starting("switch");   // HookRunner, before the fork: the hook gets LOCKSTEP_HOOK_ID=id
 * ledger.finished(id);}</pre>
 */
final class HookLedger {
  /** The environment variable that marks a hook's processes as this agent's. */
  static final String MARKER = "LOCKSTEP_HOOK_ID";
  private static final Logger LOG = LoggerFactory.getLogger(HookLedger.class);
  private static final long GRACE_MS = 2_000;

  private final Path dir;

  HookLedger(Path dir) {
    this.dir = dir;
  }

  static HookLedger of(String service, String id) {
    return new HookLedger(Path.of(System.getProperty("java.io.tmpdir"), "lockstep-agent", encode(service), encode(id),
        "hooks"));
  }

  Path dir() {
    return dir;
  }

  /**
   * Pays at start-up, on a thread of its own, what the first hook would pay before it starts: the secure random behind
   * the hook's id (78-128 ms on the first call in a C1-only JVM here, under load), this process's start time (13 ms),
   * and the JDK's first process launch (20-45 ms, against 5-6 ms for the next). A switch hook is often the first hook
   * an agent runs, and when it starts is what the switch skew measures. Failures change nothing: the hook pays later.
   */
  static void warmUp() {
    Thread warm = new Thread(() -> {
      try {
        UUID.randomUUID();
        startMillis(ProcessHandle.current());
        new ProcessBuilder("sh", "-c", ":").redirectErrorStream(true).start().waitFor();
      } catch (Exception | LinkageError e) {
        LOG.debug("warming up the hook launcher failed ({}); the first hook pays for it", e.toString());
      }
    }, "lockstep-hook-warm-up");
    warm.setDaemon(true);
    warm.start();
  }

  /**
   * Writes down that a {@code name} hook is about to be forked and returns its id, for the hook's
   * {@value #MARKER}. A failure to write is logged, not fatal.
   */
  String starting(String name) {
    String id = UUID.randomUUID().toString();
    try {
      Files.createDirectories(dir);
      ProcessHandle agent = ProcessHandle.current();
      Files.write(dir.resolve(id), List.of(Long.toString(agent.pid()), Long.toString(startMillis(agent)), name));
    } catch (IOException e) {
      LOG.warn("cannot write down the {} hook about to run in {} ({}); if this agent dies while it runs, its next"
          + " run will not stop it", name, dir, e.getMessage());
    }
    return id;
  }

  /** Crosses the hook off: it has ended (or was killed by this agent, or never started). */
  void finished(String id) {
    try {
      Files.deleteIfExists(dir.resolve(id));
    } catch (IOException e) {
      LOG.debug("cannot remove {}: {}", dir.resolve(id), e.getMessage());
    }
  }

  /**
   * Stops every hook an earlier, dead life of this agent left running, with everything it spawned (SIGTERM, then
   * SIGKILL after a few seconds), and forgets them. Blocking.
   *
   * @return how many hooks were stopped
   */
  int stopLeftovers() {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    int stopped = 0;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path file : files) {
        Optional<Entry> entry = Entry.read(file);
        if (entry.isPresent() && entry.get().agentStillRuns()) {
          continue; // another live agent of the same identity on this host: its hook, not ours
        }
        String id = file.getFileName().toString();
        List<ProcessHandle> leftovers = carrying(id);
        if (!leftovers.isEmpty()) {
          LOG.warn("the {} hook that this agent's previous run started is still running (pids {}); stopping it and"
              + " its children before taking part in anything, so it never runs beside its own retry",
              entry.map(Entry::name).orElse("unknown"), leftovers.stream().map(ProcessHandle::pid).toList());
          stop(leftovers);
          stopped++;
        }
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      LOG.warn("cannot read the hooks an earlier run left in {}: {}", dir, e.getMessage());
    }
    return stopped;
  }

  /** The running processes whose environment holds {@code MARKER=id}: the hook's shell and what it spawned. */
  static List<ProcessHandle> carrying(String id) {
    byte[] marker = (MARKER + "=" + id).getBytes(StandardCharsets.UTF_8);
    return ProcessHandle.allProcesses().filter(p -> p.pid() != ProcessHandle.current().pid())
        .filter(p -> holds(environ(p.pid()), marker)).filter(HookLedger::running).toList();
  }

  private static byte[] environ(long pid) {
    try {
      return Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ"));
    } catch (IOException | SecurityException e) {
      return new byte[0]; // gone, or another user's: not ours either way
    }
  }

  /** Whether the NUL-separated {@code environ} holds {@code entry} as a whole entry. */
  private static boolean holds(byte[] environ, byte[] entry) {
    int start = 0;
    while (start < environ.length) {
      int end = start;
      while (end < environ.length && environ[end] != 0) {
        end++;
      }
      if (end - start == entry.length && java.util.Arrays.equals(environ, start, end, entry, 0, entry.length)) {
        return true;
      }
      start = end + 1;
    }
    return false;
  }

  private static void stop(List<ProcessHandle> leftovers) {
    // Descendants first: once a shell is gone, its children are re-parented and out of reach through it.
    List<ProcessHandle> tree = leftovers.stream().flatMap(p -> java.util.stream.Stream.concat(p.descendants(),
        java.util.stream.Stream.of(p))).distinct().toList();
    tree.forEach(ProcessHandle::destroy);
    // Polled: onExit() of a process that is not this JVM's child can take seconds to notice, and a restarted
    // agent that stays silent that long is judged lost.
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GRACE_MS);
    while (tree.stream().anyMatch(HookLedger::running) && System.nanoTime() < deadline) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    for (int round = 0; round < 2; round++) {
      tree.forEach(p -> p.descendants().forEach(ProcessHandle::destroyForcibly));
      tree.forEach(ProcessHandle::destroyForcibly);
    }
  }

  /**
   * Alive and not a zombie. A killed orphan (its parent, the dead agent, cannot reap it) stays a zombie until
   * init reaps it, which took about 3 s here; {@link ProcessHandle#isAlive} counts a zombie as alive.
   */
  static boolean running(ProcessHandle process) {
    if (!process.isAlive()) {
      return false;
    }
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
      int end = stat.lastIndexOf(')'); // "pid (command) S …": the state follows the command, which may hold spaces
      return !(end > 0 && end + 2 < stat.length() && stat.charAt(end + 2) == 'Z');
    } catch (IOException e) {
      return process.isAlive(); // no /proc (not Linux), or it just went: ask the JDK
    }
  }

  private static long startMillis(ProcessHandle process) {
    return process.info().startInstant().map(Instant::toEpochMilli).orElse(-1L);
  }

  private static String encode(String part) {
    return URLEncoder.encode(part, StandardCharsets.UTF_8);
  }

  private record Entry(long agentPid, long agentStartedAt, String name) {
    static Optional<Entry> read(Path file) {
      try {
        List<String> lines = Files.readAllLines(file);
        return Optional.of(new Entry(Long.parseLong(lines.get(0)), Long.parseLong(lines.get(1)),
            lines.size() > 2 ? lines.get(2) : "unknown"));
      } catch (IOException | RuntimeException e) {
        return Optional.empty(); // half-written or foreign: look for its hook all the same
      }
    }

    /**
     * Whether the agent that wrote this still runs, as another process than this one: same pid and same start
     * time (a pid reused by an unrelated process does not count).
     */
    boolean agentStillRuns() {
      if (agentPid == ProcessHandle.current().pid()) {
        return false;
      }
      return ProcessHandle.of(agentPid).filter(HookLedger::running)
          .filter(p -> agentStartedAt < 0 || startMillis(p) == agentStartedAt).isPresent();
    }
  }
}
