package dev.lockstep.coordinator.migration.alembic;

import dev.lockstep.coordinator.error.LockstepException;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The real {@code alembic} command, run as a child process on a {@link AlembicProject.Workspace}, from the
 * project's folder, with the application's environment ({@code --engine-env}), the database Lockstep migrates
 * ({@code DATABASE_URL}) and whatever libpq settings the caller adds ({@code PGOPTIONS}, {@code PGAPPNAME}).
 * Lockstep's own secrets ({@code LOCKSTEP_*}) are not passed on: {@code env.py} is the application's code.
 * Blocking: run it on a worker.
 *
 * <pre>{@code Result r = command.run(ws, Map.of("PGOPTIONS", "-c lockstep.epoch=7"), events::add, "upgrade", "head");
 * if (!r.succeeded()) throw new IllegalStateException(r.error());}</pre>
 */
public final class AlembicCommand {
  private final List<String> executable;
  private final Map<String, String> environment;
  private final Duration timeout;

  /**
   * @param executable the command and its leading arguments: {@code alembic}, or {@code python3 -m alembic}
   * @param environment the application's variables, DATABASE_URL included
   * @param timeout how long one run may take before it is killed
   */
  public AlembicCommand(List<String> executable, Map<String, String> environment, Duration timeout) {
    this.executable = List.copyOf(executable);
    this.environment = Map.copyOf(environment);
    this.timeout = timeout;
  }

  /**
   * The Python that runs Alembic, to read revision modules with ({@link RevisionModules}): the interpreter of
   * {@code python3 -m alembic}, else the one the {@code alembic} script's {@code #!} line names (pip's and Debian's
   * entry points both have one), else {@code python3}.
   */
  public List<String> python() {
    if (runsAsModule()) {
      return List.of(executable.get(0));
    }
    Path script = onPath(executable.get(0));
    if (script != null) {
      try (BufferedReader in = Files.newBufferedReader(script, StandardCharsets.ISO_8859_1)) {
        String first = in.readLine();
        if (first != null && first.startsWith("#!") && first.contains("python")) {
          return List.of(first.substring(2).trim().split("\\s+"));
        }
      } catch (IOException e) {
        // Not a readable script (a binary launcher): fall back to python3.
      }
    }
    return List.of("python3");
  }

  /** Whether it is {@code PYTHON -m alembic}, which puts the working folder on Python's path (the script does not). */
  boolean runsAsModule() {
    return executable.size() >= 3 && executable.get(1).equals("-m");
  }

  private static Path onPath(String name) {
    if (name.contains("/")) {
      Path p = Path.of(name);
      return Files.isRegularFile(p) ? p : null;
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  /** The same command with another limit per run (the quick questions: history, current). */
  public AlembicCommand withTimeout(Duration limit) {
    return new AlembicCommand(executable, environment, limit.compareTo(timeout) < 0 ? limit : timeout);
  }

  /**
   * What one run printed (stdout and stderr, interleaved as they came) and how it ended.
   *
   * @param lines every line, for the callers that parse output ({@code history}, {@code current})
   */
  public record Result(List<String> command, int exitCode, boolean timedOut, List<String> lines) {
    public boolean succeeded() {
      return exitCode == 0 && !timedOut;
    }

    /**
     * The error a failed run ended with: Python's last exception line ({@code sqlalchemy.exc.ProgrammingError:
     * (psycopg2.errors.UndefinedTable) relation "x" does not exist}), else the last line printed.
     */
    public String error() {
      if (timedOut) {
        return "timed out";
      }
      for (int i = lines.size() - 1; i >= 0; i--) {
        String line = lines.get(i);
        if (line.matches("^[A-Za-z_][\\w.]*(Error|Exception|Exit|Interrupt|Failure)\\b.*") || line.startsWith("FAILED: ")) {
          return line.trim();
        }
      }
      return lines.isEmpty() ? "exit code " + exitCode : lines.get(lines.size() - 1).trim();
    }

    /** The SQL line that follows an SQLAlchemy error ({@code [SQL: …]}), or null. */
    public String failedSql() {
      for (int i = lines.size() - 1; i >= 0; i--) {
        if (lines.get(i).startsWith("[SQL: ")) {
          return lines.get(i).substring(6, Math.max(6, lines.get(i).length() - 1)).trim();
        }
      }
      return null;
    }

    public String tail(int n) {
      return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }
  }

  /**
   * A child process as an alembic run gets it (the alembic command, or the driver on Alembic's Python): from the
   * project's folder, stderr into stdout, the application's environment plus {@code extra}, none of Lockstep's own.
   */
  ProcessBuilder builder(List<String> command, AlembicProject.Workspace ws, Map<String, String> extra) {
    ProcessBuilder builder = new ProcessBuilder(command).directory(ws.directory().toFile()).redirectErrorStream(true);
    Map<String, String> env = builder.environment();
    env.keySet().removeIf(k -> k.startsWith("LOCKSTEP_"));
    env.putAll(environment);
    env.putAll(extra);
    env.put("PYTHONUNBUFFERED", "1"); // lines as they come, not when a buffer fills
    return builder;
  }

  Duration timeout() {
    return timeout;
  }

  /** The command as configured ({@code --alembic-command}), for messages. */
  String label() {
    return String.join(" ", executable);
  }

  /**
   * Runs {@code alembic -c <workspace ini> args…}; {@code output} gets each line as it comes.
   *
   * @param extra environment on top of the application's (libpq settings for this run)
   * @throws LockstepException UNPROCESSABLE when the command cannot be started at all (not installed)
   */
  public Result run(AlembicProject.Workspace ws, Map<String, String> extra, Consumer<String> output, String... args) {
    List<String> command = new ArrayList<>(executable);
    command.add("-c");
    command.add(ws.ini().toString());
    command.addAll(List.of(args));
    ProcessBuilder builder = builder(command, ws, extra)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "cannot run " + String.join(" ", executable)
          + " (" + e.getMessage() + "): install Alembic (Debian: apt-get install alembic python3-alembic python3-psycopg2;"
          + " elsewhere: pip install alembic psycopg2-binary), or name it with --alembic-command");
    }
    List<String> lines = new ArrayList<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          synchronized (lines) {
            lines.add(line);
          }
          output.accept(line);
        }
      } catch (IOException e) {
        // The process is gone and its pipe with it.
      }
    }, "alembic-output");
    reader.setDaemon(true);
    reader.start();
    boolean timedOut = false;
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        timedOut = true;
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
      reader.join(2_000);
    } catch (InterruptedException e) {
      // The coordinator is stopping: the migration's transaction dies with its process and is rolled back.
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new LockstepException(LockstepException.Code.MIGRATION_FAILED, "alembic " + String.join(" ", args)
          + " was interrupted (the coordinator is stopping)");
    }
    synchronized (lines) {
      return new Result(command, timedOut ? -1 : process.exitValue(), timedOut, List.copyOf(lines));
    }
  }
}
