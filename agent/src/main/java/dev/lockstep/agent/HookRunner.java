package dev.lockstep.agent;

import dev.lockstep.protocol.Durations;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs hooks through {@code sh -c}, with the agent's environment plus the {@code LOCKSTEP_*} variables,
 * and kills a hook and everything it spawned once it runs past the timeout. Blocking: call it from a
 * worker thread, never from an event loop.
 *
 * <pre>{@code
 * HookRunner hooks = new HookRunner(Duration.ofSeconds(60), Map.of("LOCKSTEP_AGENT_ID", "web-1"));
 * HookResult result = hooks.run("prepare", "./stage.sh", Map.of("LOCKSTEP_PHASE", "PREPARING"));
 * if (!result.succeeded()) log.warn(result.failure());
 * }</pre>
 */
public final class HookRunner {
  private static final Logger LOG = LoggerFactory.getLogger(HookRunner.class);
  private static final int TAIL_LINES = 20;
  private static final int TAIL_CHARS = 2000;
  private static final int MAX_LINE = 8192;
  private static final int MAX_STDOUT = 64 * 1024;
  /** A hook may leave a background process holding its pipes (a switch hook starting a server); don't wait for it. */
  private static final long DRAIN_GRACE_MS = 500;

  private final Duration timeout;
  private final Map<String, String> baseEnvironment;
  private final HookLedger ledger;

  /**
   * @param timeout how long one hook may run
   * @param baseEnvironment variables every hook gets on top of the agent's own (agent id, service)
   */
  public HookRunner(Duration timeout, Map<String, String> baseEnvironment) {
    this(timeout, baseEnvironment, null);
  }

  /** As above, writing each running hook down in {@code ledger} (null: nowhere), for the agent's next life. */
  HookRunner(Duration timeout, Map<String, String> baseEnvironment, HookLedger ledger) {
    this.timeout = timeout;
    this.baseEnvironment = Map.copyOf(baseEnvironment);
    this.ledger = ledger;
  }

  public Duration timeout() {
    return timeout;
  }

  /** Runs a hook, logging its output line by line prefixed with its name. A null command is skipped (success). */
  public HookResult run(String name, String command, Map<String, String> environment) {
    if (command == null || command.isBlank()) {
      LOG.info("no {} hook configured; counting it as done", name);
      return HookResult.skipped(name);
    }
    if (LOG.isDebugEnabled()) {
      LOG.debug("{} hook picked up by the worker at {}", name, java.time.Instant.now());
    }
    return logged(execute(name, command, environment, true));
  }

  /** A hook's outcome, logged as succeeded or failed in how long. */
  private static HookResult logged(HookResult result) {
    if (result.succeeded()) {
      LOG.info("{} hook succeeded in {}", result.name(), Durations.format(result.took()));
    } else {
      LOG.warn("{} hook failed in {}: {}", result.name(), Durations.format(result.took()), result.failure());
    }
    return result;
  }

  /** Runs a command for its standard output (the revision command); stdout is kept, not logged. */
  public HookResult capture(String name, String command, Map<String, String> environment) {
    return execute(name, command, environment, false);
  }

  /** The environment hooks get from a desired state: release, target revision, mode and phase. */
  public static Map<String, String> releaseEnvironment(String releaseId, String targetRevision, String mode,
      String phase) {
    Map<String, String> env = new HashMap<>();
    env.put("LOCKSTEP_RELEASE_ID", releaseId);
    env.put("LOCKSTEP_TARGET_REVISION", targetRevision);
    env.put("LOCKSTEP_MODE", mode);
    env.put("LOCKSTEP_PHASE", phase);
    return env;
  }

  private HookResult execute(String name, String command, Map<String, String> environment, boolean logStdout) {
    ProcessBuilder builder = new ProcessBuilder("sh", "-c", command)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    String hookId = prepareEnvironment(builder, name, environment);
    long started = System.nanoTime();
    if (LOG.isDebugEnabled()) {
      LOG.debug("{} hook forking at {}", name, java.time.Instant.now());
    }
    try {
      Process process;
      try {
        process = builder.start();
        if (LOG.isDebugEnabled()) {
          LOG.debug("{} hook process {} started at {}", name, process.pid(), java.time.Instant.now());
        }
        // Logged once it runs, not before the fork: the line costs the hook's start nothing.
        if (logStdout) {
          LOG.info("{} hook started (pid {}): {}", name, process.pid(), command);
        }
      } catch (IOException e) {
        return new HookResult(name, -1, false, e.getMessage(), elapsedSince(started), timeout, "", "");
      }
      return await(name, process, started, logStdout);
    } finally {
      if (hookId != null) {
        ledger.finished(hookId);
      }
    }
  }

  /**
   * The hook's environment on {@code builder}, and its entry in the ledger: written down before the fork, under an id
   * the hook carries, so that an agent killed right after the fork still leaves its next life a way to find the hook
   * (HookLedger). Returns that id (null without a ledger).
   */
  private String prepareEnvironment(ProcessBuilder builder, String name, Map<String, String> environment) {
    Map<String, String> env = builder.environment();
    env.putAll(baseEnvironment);
    env.putAll(withoutNulls(environment));
    String hookId = ledger == null ? null : ledger.starting(name);
    if (hookId != null) {
      env.put(HookLedger.MARKER, hookId);
    }
    return hookId;
  }

  /**
   * Forks a hook's shell ahead of time, waiting: the hook itself runs only once {@link Primed#release} is called, as
   * {@link #run} would have started it then ({@code sh -c COMMAND}, the same environment, standard input at its end),
   * and {@link Primed#discard} ends the shell without running it. What this takes off the moment the hook must start is
   * the fork and the shell's start, and the worker thread's hand-off: on a server busy with its own switch those were
   * most of it (fork 30 ms and the shell's first line 41 ms at the median over twelve agents on two cores, in
   * docs/benchmarks.md). A null command primes nothing. Blocking (it forks): call it from a worker thread.
   */
  public Primed prime(String name, String command, Map<String, String> environment) {
    if (command == null || command.isBlank()) {
      return null;
    }
    // sh -c SCRIPT COMMAND: COMMAND is the script's $0. The shell reads one line from the agent: "go" replaces it with
    // the hook, the same process (so its pid, its output pipes and the timeout's kill are the hook's); anything else, or
    // the pipe's end (the agent discarded it, or died), ends it with 125, the hook unrun. Where bash can read the clock
    // (5.0 and later), the shell is bash and also takes "at MICROS": it starts the hook itself at that moment.
    boolean timesItself = ShellClock.available();
    ProcessBuilder builder = timesItself
        ? new ProcessBuilder("bash", "-c", ShellClock.PRIMED_SCRIPT, command)
        : new ProcessBuilder("sh", "-c", "IFS= read -r line && [ \"$line\" = go ] && exec sh -c \"$0\"; exit 125", command);
    String hookId = prepareEnvironment(builder, name, environment);
    try {
      Process process = builder.start();
      LOG.info("{} hook primed (pid {}): its shell waits for the switch to run it", name, process.pid());
      return new Primed(name, command, Map.copyOf(withoutNulls(environment)), process, hookId, timesItself);
    } catch (IOException e) {
      LOG.warn("could not prime the {} hook ({}); it will start when needed", name, e.getMessage());
      if (hookId != null) {
        ledger.finished(hookId);
      }
      return null;
    }
  }

  private static Map<String, String> withoutNulls(Map<String, String> environment) {
    Map<String, String> out = new HashMap<>();
    environment.forEach((key, value) -> {
      if (value != null) {
        out.put(key, value);
      }
    });
    return out;
  }

  /** A hook whose shell is forked and waiting (see {@link #prime}). Used once: released, or discarded. */
  public final class Primed {
    private static final byte[] GO = "go\n".getBytes(StandardCharsets.US_ASCII);
    private final String name;
    private final String command;
    private final Map<String, String> environment;
    private final Process process;
    private final String hookId;
    private final boolean timesItself;
    private long released;
    /** The moment the shell was told to start the hook at by itself; null if it was not. */
    private java.time.Instant scheduled;

    private Primed(String name, String command, Map<String, String> environment, Process process, String hookId,
                   boolean timesItself) {
      this.name = name;
      this.command = command;
      this.environment = environment;
      this.process = process;
      this.hookId = hookId;
      this.timesItself = timesItself;
    }

    /**
     * Tells the waiting shell to start the hook by itself at {@code at} (this host's clock): at that moment nothing of
     * the agent's JVM has to run, so a switch announced ahead starts within the shell's wake-up and exec. False when
     * the shell cannot read the clock (no bash 5), or is gone: then {@link #release} starts it. Call {@link #release}
     * after {@code at} all the same: it ends the shell's standard input and waits for the hook from then. Does not block.
     */
    public boolean releaseAt(java.time.Instant at) {
      if (!timesItself || scheduled != null) {
        return scheduled != null && scheduled.equals(at);
      }
      long micros = at.getEpochSecond() * 1_000_000 + at.getNano() / 1_000;
      try {
        process.getOutputStream().write(("at " + micros + "\n").getBytes(StandardCharsets.US_ASCII));
        process.getOutputStream().flush();
      } catch (IOException e) {
        return false;
      }
      scheduled = at;
      released = System.nanoTime() + Math.max(0, java.time.Duration.between(java.time.Instant.now(), at).toNanos());
      LOG.info("{} hook scheduled: its shell (pid {}) starts it at {}", name, process.pid(), at);
      return true;
    }

    /** Whether {@link #releaseAt} handed the start to the shell. */
    public boolean scheduled() {
      return scheduled != null;
    }

    /** The waiting shell's process id, which the hook keeps once let go. */
    public long pid() {
      return process.pid();
    }

    /** Whether it was primed as {@link #run} would now run {@code command} with {@code environment}. */
    public boolean isFor(String command, Map<String, String> environment) {
      return this.command.equals(command) && this.environment.equals(withoutNulls(environment));
    }

    /**
     * Lets the hook run; false if its shell is gone (the caller then runs the hook the ordinary way). A few bytes into
     * an empty pipe that nobody else writes: it does not block, so an event loop may call it, and the hook starts
     * without waiting for a worker thread.
     */
    public boolean release() {
      java.time.Instant at = LOG.isDebugEnabled() ? java.time.Instant.now() : null; // before: the hook may run at once
      if (scheduled == null) {
        released = System.nanoTime();
      }
      try {
        // Once scheduled, the shell starts the hook at its time (or has): its standard input only ends. A "go" now
        // would reach the hook's standard input instead.
        if (scheduled == null) {
          process.getOutputStream().write(GO);
        }
        process.getOutputStream().close();
      } catch (IOException e) {
        LOG.warn("the primed {} hook's shell (pid {}) is gone ({}); starting the hook anew", name, process.pid(),
            e.getMessage());
        discard();
        return false;
      }
      if (at != null) {
        LOG.debug("{} hook released at {}", name, at);
      }
      LOG.info("{} hook started (pid {}, primed): {}", name, process.pid(), command);
      return true;
    }

    /** Waits for the released hook, as {@link #run} does, and returns how it ended. Blocking: on a worker thread. */
    public HookResult await() {
      try {
        return logged(HookRunner.this.await(name, process, released, true));
      } finally {
        if (hookId != null) {
          ledger.finished(hookId);
        }
      }
    }

    /** Ends the waiting shell without running the hook: its standard input ends, and it exits. Does not block. */
    public void discard() {
      try {
        if (scheduled != null) {
          // A shell that waits for its time would take the pipe's end for "start on time": it must be told to stop.
          process.getOutputStream().write("stop\n".getBytes(StandardCharsets.US_ASCII));
        }
        process.getOutputStream().close();
      } catch (IOException e) {
        process.destroyForcibly(); // it would have read the end; make sure it does not wait on
      }
      process.onExit().thenRun(() -> {
        if (hookId != null) {
          ledger.finished(hookId);
        }
      });
      LOG.debug("primed {} hook (pid {}) discarded", name, process.pid());
    }
  }

  private HookResult await(String name, Process process, long started, boolean logStdout) {
    StringBuilder stdout = new StringBuilder();
    Tail stderr = new Tail();
    Thread outReader = drain(process.getInputStream(), name + "-stdout", line -> {
      if (logStdout) {
        LOG.info("[{}] {}", name, line);
      }
      synchronized (stdout) {
        if (stdout.length() < MAX_STDOUT) {
          stdout.append(line).append('\n');
        }
      }
    });
    Thread errReader = drain(process.getErrorStream(), name + "-stderr", line -> {
      LOG.info("[{} stderr] {}", name, line);
      stderr.add(line);
    });

    boolean timedOut = false;
    int exitCode;
    try {
      // Counted from the hook's start: a hook awaited before its switch time (Primed.releaseAt) gets its whole timeout.
      long left = timeout.toNanos() - (System.nanoTime() - started);
      if (process.waitFor(Math.max(left, 0), TimeUnit.NANOSECONDS)) {
        exitCode = process.exitValue();
      } else {
        timedOut = true;
        exitCode = killTree(process);
      }
    } catch (InterruptedException e) {
      // The agent is shutting down: leave nothing behind.
      killTree(process);
      Thread.currentThread().interrupt();
      return new HookResult(name, -1, false, "interrupted (agent stopping)", elapsedSince(started), timeout,
          "", stderr.text());
    }
    Duration took = elapsedSince(started);
    long drainDeadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_GRACE_MS);
    join(outReader, drainDeadline);
    join(errReader, drainDeadline);
    String out;
    synchronized (stdout) {
      out = stdout.toString();
    }
    return new HookResult(name, exitCode, timedOut, null, took, timeout, out, stderr.text());
  }

  /**
   * Kills the process and its descendants. Descendants are listed first: once the shell dies its children are
   * re-parented and no longer reachable through it. Twice, in case one forked while we were killing.
   */
  private static int killTree(Process process) {
    for (int round = 0; round < 2; round++) {
      List<ProcessHandle> descendants = process.descendants().toList();
      descendants.forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
    try {
      process.waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return process.isAlive() ? -1 : process.exitValue();
  }

  private static Thread drain(InputStream stream, String threadName, Consumer<String> lines) {
    Thread thread = new Thread(() -> readLines(stream, lines), "hook-" + threadName);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  /** Splits a stream into lines, cutting absurdly long ones so a hook cannot exhaust memory with one line. */
  private static void readLines(InputStream stream, Consumer<String> lines) {
    try (Reader reader = new InputStreamReader(stream, StandardCharsets.UTF_8)) {
      StringBuilder line = new StringBuilder();
      char[] buffer = new char[4096];
      int n;
      while ((n = reader.read(buffer)) != -1) {
        for (int i = 0; i < n; i++) {
          char c = buffer[i];
          if (c == '\n') {
            lines.accept(stripCr(line));
            line.setLength(0);
          } else if (line.length() >= MAX_LINE) {
            lines.accept(line.toString());
            line.setLength(0);
            line.append(c);
          } else {
            line.append(c);
          }
        }
      }
      if (line.length() > 0) {
        lines.accept(stripCr(line));
      }
    } catch (IOException e) {
      // The process is gone and its pipe with it; nothing more to read.
    }
  }

  private static String stripCr(StringBuilder line) {
    int end = line.length();
    return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
  }

  private static void join(Thread reader, long deadlineNanos) {
    try {
      reader.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime())));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Duration elapsedSince(long startNanos) {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }

  /** The last lines of a stream, bounded in lines and characters. */
  private static final class Tail {
    private final Deque<String> lines = new ArrayDeque<>();

    synchronized void add(String line) {
      lines.addLast(line);
      if (lines.size() > TAIL_LINES) {
        lines.removeFirst();
      }
    }

    synchronized String text() {
      String joined = String.join("\n", lines).strip();
      return joined.length() <= TAIL_CHARS ? joined : "…" + joined.substring(joined.length() - TAIL_CHARS);
    }
  }
}
