package dev.lockstep.bench.cost;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real process, started the way a user starts it, its output in a log file, with the wall-clock moment it was
 * spawned ({@link #spawnedAt}, epoch millis) so a child that prints its own timestamps can be placed against it.
 *
 * <pre>{@code Spawn.Done d = Spawn.of(List.of("alembic", "upgrade", "heads")).in(dir).log(file).run(Duration.ofMinutes(5));}</pre>
 */
final class Spawn {
  private final List<String> command;
  private final Map<String, String> env = new LinkedHashMap<>();
  private Path dir;
  private Path log;
  private Path errors;
  private Process process;
  long spawnedAt;

  private Spawn(List<String> command) {
    this.command = new ArrayList<>(command);
  }

  static Spawn of(List<String> command) {
    return new Spawn(command);
  }

  Spawn in(Path directory) {
    this.dir = directory;
    return this;
  }

  Spawn env(String name, String value) {
    env.put(name, value);
    return this;
  }

  Spawn log(Path file) {
    this.log = file;
    return this;
  }

  /** Keeps stderr apart from stdout (a CLI's {@code --json} document on stdout, its progress on stderr). */
  Spawn errors(Path file) {
    this.errors = file;
    return this;
  }

  /** What a finished process left: exit code, spawn and exit moments (epoch millis), its output. */
  record Done(int exit, long spawnedAt, long exitedAt, String output) {
    long wallMs() {
      return exitedAt - spawnedAt;
    }

    /** The first line starting with {@code key + " "}'s value, as a long (children print {@code key <millis>}). */
    long mark(String key) {
      return output.lines().filter(l -> l.startsWith(key + " ")).map(l -> Long.parseLong(l.substring(key.length() + 1).trim().split(" ")[0]))
          .findFirst().orElseThrow(() -> new IllegalStateException("no '" + key + "' line in the output:\n" + tail(output)));
    }
  }

  Spawn start() {
    try {
      ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(errors == null);
      if (errors != null) {
        b.redirectError(errors.toFile());
      }
      if (dir != null) {
        b.directory(dir.toFile());
      }
      if (log == null) {
        log = Files.createTempFile("bench-cost-", ".log");
      }
      Files.createDirectories(log.toAbsolutePath().getParent());
      b.redirectOutput(log.toFile());
      b.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      b.environment().putAll(env);
      spawnedAt = System.currentTimeMillis();
      process = b.start();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
  }

  Process process() {
    return process;
  }

  Path logFile() {
    return log;
  }

  boolean alive() {
    return process != null && process.isAlive();
  }

  /** Waits for the end of a started process; kills it past {@code timeoutMs}. */
  Done await(long timeoutMs) {
    try {
      if (!process.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
        stop();
        throw new IllegalStateException(String.join(" ", command) + " did not finish in " + timeoutMs + " ms; see " + log);
      }
      long exited = System.currentTimeMillis();
      return new Done(process.exitValue(), spawnedAt, exited, Files.readString(log));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  Done run(long timeoutMs) {
    return start().await(timeoutMs);
  }

  /** SIGTERM, then SIGKILL after 10 s; children too. */
  void stop() {
    if (process == null) {
      return;
    }
    List<ProcessHandle> children = process.descendants().toList();
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    children.forEach(ProcessHandle::destroyForcibly);
  }

  static String tail(String output) {
    List<String> lines = output.lines().toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
  }

  /** Runs {@code command} to the end and fails with its output unless it exits 0. */
  static String check(List<String> command, Path dir, Map<String, String> env, long timeoutMs) {
    Spawn s = Spawn.of(command).in(dir);
    env.forEach(s::env);
    Done d = s.run(timeoutMs);
    if (d.exit() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " exited " + d.exit() + ":\n" + tail(d.output()));
    }
    return d.output();
  }
}
