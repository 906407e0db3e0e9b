package dev.lockstep.coordinator.migration.alembic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lockstep.coordinator.error.LockstepException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.LinkedHashSet;
import com.fasterxml.jackson.core.type.TypeReference;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The Alembic commands of a phase in ONE Python process: {@code alembic_driver.py} (beside this class) on the
 * interpreter Alembic runs on ({@link AlembicCommand#python}), calling Alembic's own {@code alembic.command.upgrade},
 * {@code downgrade} and {@code stamp}. Each {@link #run} sends one command on the driver's stdin and waits for its
 * end, so what the coordinator does between steps happens between steps, as with one process per step; what it
 * saves is Python, SQLAlchemy and reading every revision once per step (0.5–1.1 s each on a 273-revision chain).
 * The driver's protocol lines carry a random nonce ({@code \n@@lockstep-driver NONCE {json}}); everything else it
 * prints is text, kept for the error message as the alembic command's output is.
 *
 * <pre>{@code AlembicDriver driver = AlembicDriver.start(command, ws, env);   // null: use the alembic command
 * AlembicCommand.Result r = driver.run(listener, "upgrade", "b2c3");}</pre>
 */
final class AlembicDriver implements AlembicRunner {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AlembicDriver.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** revision_modules.py's facts() first: the inspect mode reads the modules with it. */
  private static final String SCRIPT = RevisionModules.SCRIPT + "\n" + script();
  private static final String PREFIX = "@@lockstep-driver ";
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Importing Alembic and SQLAlchemy takes about a second; one that hangs must not hold a release. */
  private static final Duration READY_TIMEOUT = Duration.ofMinutes(2);

  /** What env.py configured Alembic with: the table it keeps its revisions in. */
  record VersionTable(String schema, String table) {
    static final VersionTable DEFAULT = new VersionTable(null, "alembic_version");

    boolean isDefault() {
      return equals(DEFAULT);
    }

    @Override
    public String toString() {
      return schema == null ? table : schema + "." + table;
    }
  }

  /** A line of the driver's output: text, a protocol event, or the end of the output. */
  private record Line(String text, JsonNode event) {
    static final Line EOF = new Line(null, null);
  }

  private final AlembicCommand command;
  private final Process process;
  private final Writer commands;
  private final BlockingQueue<Line> lines = new LinkedBlockingQueue<>();
  private final List<String> label;
  private volatile VersionTable versionTable;

  private AlembicDriver(AlembicCommand command, Process process, List<String> label) {
    this.command = command;
    this.process = process;
    this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    this.label = label;
  }

  /**
   * Starts the driver for a phase's steps and waits until it has imported Alembic. Null, logged, when this Python
   * cannot run it (not found, no alembic module, died): the caller runs the alembic command instead, as before.
   *
   * @param env on top of the application's environment: the fence's session settings, the database
   */
  static AlembicDriver start(AlembicCommand command, AlembicProject.Workspace ws, Map<String, String> env) {
    return launch(command, ws, env, "steps");
  }

  /**
   * What Lockstep asks once per set, in one process: the graph, the modules, the revisions the database is at.
   *
   * @param history the lines {@code alembic history --verbose} prints; null when the run failed
   * @param heads what the database is at as env.py sees it (as {@code alembic current}); null if not reached
   * @param result the run, for its error when it failed
   */
  record Inspection(List<String> history, Map<String, RevisionModules.Module> modules, Set<String> heads,
                    VersionTable versionTable, AlembicCommand.Result result) {}

  /**
   * Reads {@code ws}'s set: {@code alembic history --verbose}, the revision modules and {@code alembic current} in one
   * Python process. Null, logged, when this Python cannot run the driver.
   */
  static Inspection inspect(AlembicCommand command, AlembicProject.Workspace ws, Map<String, String> env, Duration timeout) {
    AlembicDriver driver = launch(command, ws, env, "inspect");
    if (driver == null) {
      return null;
    }
    List<String> text = new ArrayList<>();
    List<String> history = null;
    Map<String, RevisionModules.Module> modules = Map.of();
    Set<String> heads = null;
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (true) {
        Line line = driver.lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (line == null) {
          driver.kill();
          return new Inspection(null, Map.of(), null, null, new AlembicCommand.Result(driver.label, -1, true, text));
        }
        if (line == Line.EOF) {
          driver.closeInput();
          int exit = driver.exit();
          AlembicCommand.Result result = new AlembicCommand.Result(driver.label, exit, false, List.copyOf(text));
          return new Inspection(exit == 0 ? history : null, modules, heads, driver.versionTable, result);
        }
        if (line.event() == null) {
          text.add(line.text());
          LOG.info("[alembic] {}", line.text());
          continue;
        }
        JsonNode event = line.event();
        switch (event.path("event").asText()) {
          case "inspected" -> {
            history = List.of(event.path("history").asText().split("\n", -1));
            modules = JSON.convertValue(event.path("modules"), new TypeReference<Map<String, RevisionModules.Module>>() {});
          }
          case "current" -> {
            heads = new LinkedHashSet<>();
            for (JsonNode head : event.path("heads")) {
              heads.add(head.asText());
            }
          }
          case "configured" -> driver.configured(event);
          default -> LOG.debug("alembic driver: {}", event);
        }
      }
    } catch (InterruptedException e) {
      driver.kill();
      Thread.currentThread().interrupt();
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "reading the Alembic set was interrupted");
    }
  }

  private static AlembicDriver launch(AlembicCommand command, AlembicProject.Workspace ws, Map<String, String> env,
                                      String mode) {
    AlembicDriver driver = spawn(command, ws, env, mode);
    return driver == null ? null : driver.awaitReady();
  }

  /**
   * Starts the driver's process and its output's reader, without waiting for it: it imports Alembic and SQLAlchemy and
   * reads the revisions while the caller does something else ({@link AlembicRunner#starting}), then either
   * {@link #awaitReady} or {@link #close}. Null, logged, when the Python cannot be started at all.
   */
  static AlembicDriver spawn(AlembicCommand command, AlembicProject.Workspace ws, Map<String, String> env, String mode) {
    List<String> python = command.python();
    String nonce = HexFormat.of().formatHex(randomBytes());
    List<String> argv = new ArrayList<>(python);
    argv.addAll(List.of("-c", SCRIPT, ws.ini().toString(), nonce, mode, command.runsAsModule() ? "module" : "script"));
    Process process;
    try {
      process = command.builder(argv, ws, env).start();
    } catch (IOException e) {
      LOG.warn("cannot start Alembic's Python {} for the driver ({}); running {} instead", String.join(" ", python),
          e.getMessage(), command.label());
      return null;
    }
    AlembicDriver driver = new AlembicDriver(command, process, List.of(String.join(" ", python), "alembic_driver.py", mode));
    driver.read(process.getInputStream(), PREFIX + nonce + " ");
    return driver;
  }

  /** Waits for the driver's {@code ready}; null, logged, with the process ended, when it cannot run here. */
  AlembicDriver awaitReady() {
    List<String> python = command.python();
    List<String> said = new ArrayList<>();
    try {
      while (true) {
        Line line = lines.poll(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        if (line == null || line == Line.EOF || line.event() != null && !"ready".equals(line.event().path("event").asText())) {
          String why = line == null ? "no answer in " + READY_TIMEOUT.toSeconds() + " s"
              : line == Line.EOF ? "it exited: " + String.join(" | ", said.subList(Math.max(0, said.size() - 5), said.size()))
              : line.event().path("error").asText();
          LOG.warn("Alembic's driver cannot run on {} ({}); running {} instead", String.join(" ", python), why,
              command.label());
          kill();
          return null;
        }
        if (line.event() != null) {
          return this;
        }
        said.add(line.text());
        LOG.info("[alembic] {}", line.text());
      }
    } catch (InterruptedException e) {
      kill();
      Thread.currentThread().interrupt();
      throw new LockstepException(LockstepException.Code.MIGRATION_FAILED, "starting Alembic's driver was interrupted"
          + " (the coordinator is stopping)");
    }
  }

  private void configured(JsonNode event) {
    versionTable = new VersionTable(event.path("versionTableSchema").isTextual()
        ? event.path("versionTableSchema").asText() : null, event.path("versionTable").asText("alembic_version"));
  }

  @Override
  public VersionTable versionTable() {
    return versionTable;
  }

  @Override
  public AlembicCommand.Result run(Listener listener, String... args) {
    List<String> shown = new ArrayList<>(label);
    shown.addAll(List.of(args));
    List<String> text = new ArrayList<>();
    try {
      commands.write(JSON.writeValueAsString(request(args)) + "\n");
      commands.flush();
    } catch (IOException e) {
      return new AlembicCommand.Result(shown, exit(), false, List.of("the driver is gone: " + e.getMessage()));
    }
    long deadline = System.nanoTime() + command.timeout().toNanos();
    try {
      while (true) {
        Line line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (line == null) {
          kill();
          return new AlembicCommand.Result(shown, -1, true, List.copyOf(text));
        }
        if (line == Line.EOF) {
          // Died mid-command (killed, out of memory): the command's transaction died with its connection.
          return new AlembicCommand.Result(shown, exit(), false, List.copyOf(text));
        }
        if (line.event() == null) {
          text.add(line.text());
          listener.text(line.text());
          continue;
        }
        JsonNode event = line.event();
        switch (event.path("event").asText()) {
          // Its first line, as the alembic command's log shows it: a docstring without a blank line runs on.
          case "revision" -> listener.revision(event.path("text").asText().split("\n", 2)[0]);
          case "configured" -> configured(event);
          case "end" -> {
            boolean ok = event.path("ok").asBoolean();
            if (!ok && text.isEmpty()) {
              text.add(event.path("error").asText());
            }
            return new AlembicCommand.Result(shown, ok ? 0 : 1, false, List.copyOf(text));
          }
          default -> LOG.debug("alembic driver: {}", event);
        }
      }
    } catch (InterruptedException e) {
      // The coordinator is stopping: the migration's transaction dies with the process and is rolled back.
      kill();
      Thread.currentThread().interrupt();
      throw new LockstepException(LockstepException.Code.MIGRATION_FAILED, "alembic " + String.join(" ", args)
          + " was interrupted (the coordinator is stopping)");
    }
  }

  private static Map<String, Object> request(String... args) {
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("command", args[0]);
    switch (args[0]) {
      case "upgrade", "downgrade" -> request.put("revision", args[1]);
      case "stamp" -> request.put("revisions", List.of(args).subList(1, args.length));
      default -> throw new IllegalArgumentException("the Alembic driver runs upgrade, downgrade and stamp, not " + args[0]);
    }
    return request;
  }

  /** Ends the driver: end of its input, then a few seconds to exit (it is idle between commands), then killed. */
  @Override
  public void close() {
    closeInput();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        kill();
      }
    } catch (InterruptedException e) {
      kill();
      Thread.currentThread().interrupt();
    }
  }

  private void kill() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    closeInput();
  }

  private void closeInput() {
    try {
      commands.close();
    } catch (IOException e) {
      // Gone already.
    }
  }

  private int exit() {
    try {
      return process.waitFor(10, TimeUnit.SECONDS) ? process.exitValue() : -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private void read(InputStream out, String prefix) {
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(out, StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          if (line.startsWith(prefix)) {
            JsonNode event;
            try {
              event = JSON.readTree(line.substring(prefix.length()));
            } catch (IOException e) {
              lines.add(new Line(line, null));
              continue;
            }
            lines.add(new Line(null, event));
          } else if (!line.isEmpty()) { // the driver starts each protocol line on a line of its own
            lines.add(new Line(line, null));
          }
        }
      } catch (IOException e) {
        // The process is gone and its pipe with it.
      }
      lines.add(Line.EOF);
    }, "alembic-driver-output");
    reader.setDaemon(true);
    reader.start();
  }

  private static byte[] randomBytes() {
    byte[] bytes = new byte[8];
    RANDOM.nextBytes(bytes);
    return bytes;
  }

  private static String script() {
    try (InputStream in = AlembicDriver.class.getResourceAsStream("alembic_driver.py")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException | NullPointerException e) {
      throw new IllegalStateException("alembic_driver.py is missing from the coordinator's jar", e);
    }
  }
}
