package dev.lockstep.coordinator.migration.alembic;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs the Alembic commands of one phase ({@code upgrade R}, {@code downgrade R@-1}, {@code stamp R…}) against one
 * database, one after another, each as {@code alembic -c INI <command>} would: its own env.py run, its own
 * transaction. {@link #open} prefers {@link AlembicDriver} (all commands in one Python process) and falls back to one
 * {@code alembic} process per command ({@link #perCommand}) when Alembic's Python cannot run the driver. Not
 * thread-safe: one phase, one thread at a time. Blocking.
 *
 * <pre>{@code try (AlembicRunner runner = AlembicRunner.open(command, ws, env)) {
 *   AlembicCommand.Result r = runner.run(progress, "upgrade", "b2c3");
 * }}</pre>
 */
interface AlembicRunner extends AutoCloseable {
  /** What a run reports as it goes. */
  interface Listener {
    /** A line Alembic, env.py or a revision printed. */
    void text(String line);

    /** A revision starts: Alembic's step as it logs it, {@code upgrade a1 -> b2, add orders}. */
    void revision(String step);
  }

  Listener QUIET = new Listener() {
    @Override
    public void text(String line) {}

    @Override
    public void revision(String step) {}
  };

  /** One command; what it printed is in the result, as for the alembic command. */
  AlembicCommand.Result run(Listener listener, String... args);

  /** The version table env.py named at the last command, as the driver saw it; null when not known. */
  default AlembicDriver.VersionTable versionTable() {
    return null;
  }

  @Override
  void close();

  /** The driver if Alembic's Python can run it, else the alembic command per run. */
  static AlembicRunner open(AlembicCommand command, AlembicProject.Workspace ws, Map<String, String> env) {
    AlembicRunner driver = AlembicDriver.start(command, ws, env);
    return driver != null ? driver : perCommand(command, ws, env);
  }

  /**
   * As {@link #open}, but returns at once: the driver's Python starts now (importing Alembic and SQLAlchemy, reading
   * the revisions: 0.2–0.5 s) and is waited for at the first {@link #run}, so its start overlaps what the caller
   * does meanwhile (copying the schema for the rehearsal; PREFLIGHT and PREPARING for MIGRATING's steps). Closed
   * before its first run, it ends the process unused.
   */
  static AlembicRunner starting(AlembicCommand command, AlembicProject.Workspace ws, Map<String, String> env) {
    AlembicDriver started = AlembicDriver.spawn(command, ws, env, "steps");
    return new AlembicRunner() {
      private AlembicRunner runner;

      private synchronized AlembicRunner runner() {
        if (runner == null) {
          AlembicDriver ready = started == null ? null : started.awaitReady();
          runner = ready != null ? ready : perCommand(command, ws, env);
        }
        return runner;
      }

      @Override
      public AlembicCommand.Result run(Listener listener, String... args) {
        return runner().run(listener, args);
      }

      @Override
      public AlembicDriver.VersionTable versionTable() {
        return runner == null ? null : runner.versionTable();
      }

      @Override
      public synchronized void close() {
        if (runner != null) {
          runner.close();
        } else if (started != null) {
          started.close(); // never used: end of input, it exits once done importing (killed after 5 s)
        }
      }
    };
  }

  /** One {@code alembic} process per command: what Lockstep did before the driver, and its fallback. */
  static AlembicRunner perCommand(AlembicCommand command, AlembicProject.Workspace ws, Map<String, String> env) {
    return new AlembicRunner() {
      @Override
      public AlembicCommand.Result run(Listener listener, String... args) {
        return command.run(ws, env, line -> {
          listener.text(line);
          String step = step(line);
          if (step != null) {
            listener.revision(step);
          }
        }, args);
      }

      @Override
      public void close() {}
    };
  }

  /** {@code INFO  [alembic.runtime.migration] Running upgrade a1 -> b2, add orders} → {@code upgrade a1 -> b2, add orders}. */
  Pattern RUNNING = Pattern.compile(".*Running ((?:upgrade|downgrade) .*? -> .*)$");

  static String step(String line) {
    Matcher m = RUNNING.matcher(line);
    return m.matches() ? m.group(1) : null;
  }
}
