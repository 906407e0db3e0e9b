package dev.lockstep.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One {@code redis-server} child process of the test JVM on a loopback port (a data node or, with {@code --sentinel},
 * a sentinel), logging to {@code redis-<port>.log} in its folder, and the faults a test needs: kill -9, SIGSTOP and
 * SIGCONT, start again. Every node still running when the JVM exits is killed by a shutdown hook, so a test that
 * fails or is interrupted leaves no server behind.
 */
final class RedisNode {
  private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly), "redis-test-nodes"));
  }

  final int port;
  private final Path dir;
  private final List<String> args;
  private Process process;
  private boolean paused;

  private RedisNode(int port, Path dir, List<String> args) {
    this.port = port;
    this.dir = dir;
    this.args = List.copyOf(args);
  }

  /** Starts {@code redis-server args…} (the port is the caller's to put in {@code args}) and waits until it answers PING. */
  static RedisNode start(int port, Path dir, List<String> args) {
    RedisNode node = new RedisNode(port, dir, args);
    node.start();
    return node;
  }

  /** Starts the process again (after {@link #kill9()}), with the same arguments, and waits until it answers PING. */
  void start() {
    start(args);
  }

  /** As {@link #start()}, with other arguments this once (e.g. {@code --replicaof} the new primary). */
  void start(List<String> with) {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("redis-server on port " + port + " is running already");
    }
    List<String> cmd = new ArrayList<>(List.of("redis-server"));
    cmd.addAll(with);
    try {
      process = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile())).start();
    } catch (IOException e) {
      throw new UncheckedIOException("could not start redis-server: " + e.getMessage(), e);
    }
    RUNNING.add(process);
    paused = false;
    Process started = process;
    await("redis-server on port " + port + " answering PING", Duration.ofSeconds(10), () -> {
      if (!started.isAlive()) {
        throw new IllegalStateException("redis-server on port " + port + " exited " + started.exitValue() + "; see " + log());
      }
      return Resp.answers(port);
    });
  }

  Path log() {
    return dir.resolve("redis-" + port + ".log");
  }

  boolean alive() {
    return process != null && process.isAlive();
  }

  /** SIGKILL, as a machine that dies: no shutdown, nothing handed over; waits until the process is gone. */
  void kill9() {
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    RUNNING.remove(process);
  }

  /** SIGSTOP: the process holds its connections and answers nothing, as a frozen machine does. */
  void pause() {
    signal("STOP");
    paused = true;
  }

  /** SIGCONT after {@link #pause()}. */
  void resume() {
    signal("CONT");
    paused = false;
  }

  /** Ends the process (SIGCONT first if paused, so it can die). */
  void stop() {
    if (paused) {
      resume();
    }
    kill9();
  }

  /** The first word of {@code ROLE}: {@code master}, {@code slave} or {@code sentinel}; null if it does not answer. */
  String role() {
    try {
      return Resp.call("127.0.0.1", port, "ROLE") instanceof List<?> role && !role.isEmpty() ? String.valueOf(role.get(0)) : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  private void signal(String signal) {
    if (process == null || !process.isAlive()) {
      return;
    }
    try {
      new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start().waitFor();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Polls {@code condition} every 50 ms until it holds, or fails after {@code atMost} naming {@code what}. */
  static void await(String what, Duration atMost, BooleanSupplier condition) {
    long deadline = System.nanoTime() + atMost.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out after " + atMost.toSeconds() + " s waiting for " + what);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted waiting for " + what, e);
      }
    }
  }

  /** A free port of 127.0.0.1; with {@code busOffset}, one whose {@code port + busOffset} is free too (a cluster bus). */
  static int freePort(int busOffset) {
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = freePort();
      if (busOffset == 0 || (port + busOffset <= 65535 && free(port + busOffset))) {
        return port;
      }
    }
    throw new IllegalStateException("no free port p with p + " + busOffset + " free too after 100 tries");
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Fails with how to install Redis unless {@code binary} is on the PATH. */
  static void require(String binary) {
    boolean found;
    try {
      found = new ProcessBuilder("sh", "-c", "command -v " + binary).start().waitFor() == 0;
    } catch (IOException e) {
      found = false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      found = false;
    }
    if (!found) {
      throw new IllegalStateException(HowToStart.missing(binary));
    }
  }
}
