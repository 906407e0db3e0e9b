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
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hooks this agent has running, one small file each, so that the agent's next life can stop a hook
 * this life left behind. Killing an agent (kill -9, the OOM killer) does not kill the hook it was running:
 * the shell and its children carry on. The restarted agent then catches up and runs the same hook again,
 * beside the first: two switches (two deploys) at once. The fault matrix saw exactly that ("an agent killed
 * @ SWITCHING", 1 run in 15). So on start the agent first stops what its previous life left running
 * ({@link #stopLeftovers}), as a hook past its timeout is stopped.
 *
 * <p>The files are {@code <java.io.tmpdir>/lockstep-agent/<service>/<id>/hooks/<hook pid>}, each holding the
 * agent's pid, the hook's pid, its start time and its name. A file whose agent is still alive belongs to
 * another agent with the same identity on this host (a mistake, but not this agent's to undo): it is left
 * alone. A pid that now belongs to another process (its start time differs) is not touched.
 *
 * <pre>{@code HookLedger ledger = HookLedger.of("shop", "web-1");
 * ledger.stopLeftovers();              // at start, before taking part in anything
 * ledger.started("switch", hook);      // HookRunner, around each hook
 * ledger.finished(hook);}</pre>
 */
final class HookLedger {
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

  /** Writes down that {@code hook} (the hook's shell) runs now. A failure to write is logged, not fatal. */
  void started(String name, ProcessHandle hook) {
    try {
      Files.createDirectories(dir);
      long startedAt = hook.info().startInstant().map(Instant::toEpochMilli).orElse(-1L);
      Files.write(dir.resolve(Long.toString(hook.pid())), List.of(Long.toString(ProcessHandle.current().pid()),
          Long.toString(hook.pid()), Long.toString(startedAt), name));
    } catch (IOException e) {
      LOG.warn("cannot write down the running {} hook in {} ({}); if this agent dies while it runs, its next run"
          + " will not stop it", name, dir, e.getMessage());
    }
  }

  /** Crosses {@code hook} off: it has ended (or was killed by this agent). */
  void finished(ProcessHandle hook) {
    try {
      Files.deleteIfExists(dir.resolve(Long.toString(hook.pid())));
    } catch (IOException e) {
      LOG.debug("cannot remove {}: {}", dir.resolve(Long.toString(hook.pid())), e.getMessage());
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
        if (entry.isPresent() && isAlive(entry.get().agentPid()) && entry.get().agentPid() != ProcessHandle.current().pid()) {
          continue; // another live agent of the same identity on this host: its hook, not ours
        }
        Optional<ProcessHandle> hook = entry.flatMap(Entry::stillRunning);
        if (hook.isPresent()) {
          LOG.warn("the {} hook (pid {}) that this agent's previous run started is still running; stopping it and"
              + " its children before taking part in anything, so it never runs beside its own retry",
              entry.get().name(), hook.get().pid());
          stop(hook.get());
          stopped++;
        }
        Files.deleteIfExists(file);
      }
    } catch (IOException e) {
      LOG.warn("cannot read the hooks an earlier run left in {}: {}", dir, e.getMessage());
    }
    return stopped;
  }

  private static void stop(ProcessHandle hook) {
    // Descendants first: once the shell is gone, its children are re-parented and out of reach through it.
    List<ProcessHandle> tree = hook.descendants().toList();
    tree.forEach(ProcessHandle::destroy);
    hook.destroy();
    // Polled: onExit() of a process that is not this JVM's child can take seconds to notice, and a restarted
    // agent that stays silent that long is judged lost.
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GRACE_MS);
    while ((running(hook) || tree.stream().anyMatch(HookLedger::running)) && System.nanoTime() < deadline) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    for (int round = 0; round < 2; round++) {
      hook.descendants().forEach(ProcessHandle::destroyForcibly);
      tree.forEach(ProcessHandle::destroyForcibly);
      hook.destroyForcibly();
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

  private static boolean isAlive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  private static String encode(String part) {
    return URLEncoder.encode(part, StandardCharsets.UTF_8);
  }

  private record Entry(long agentPid, long hookPid, long startedAt, String name) {
    static Optional<Entry> read(Path file) {
      try {
        List<String> lines = Files.readAllLines(file);
        return Optional.of(new Entry(Long.parseLong(lines.get(0)), Long.parseLong(lines.get(1)), Long.parseLong(lines.get(2)),
            lines.size() > 3 ? lines.get(3) : "unknown"));
      } catch (IOException | RuntimeException e) {
        return Optional.empty(); // half-written or foreign: nothing to act on
      }
    }

    /** The hook's process, if that pid still runs and is the same process (same start time) as recorded. */
    Optional<ProcessHandle> stillRunning() {
      return ProcessHandle.of(hookPid).filter(HookLedger::running).filter(p -> startedAt >= 0
          && p.info().startInstant().map(Instant::toEpochMilli).map(t -> t == startedAt).orElse(false));
    }
  }
}
