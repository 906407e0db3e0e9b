package dev.lockstep.coordinator.migration.alembic;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.set.MigrationSet;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What each revision module of a set says of itself, read by Python's own parser ({@code ast}) and never run:
 * whether it calls {@code autocommit_block()} (its statements then commit one by one, outside Alembic's transaction)
 * and its {@code lockstep_phase}. A comment or a string that mentions either is not code to {@code ast}, so it does not
 * count, as it did for the regular expression this replaces. The script is {@code revision_modules.py} beside this
 * class; it runs once per set, on the interpreter Alembic runs on ({@link AlembicCommand#python}).
 *
 * <pre>{@code RevisionModules modules = RevisionModules.read(command.python(), set, Duration.ofMinutes(1));
 * boolean transactional = !modules.of("0007_add_index.py").autocommit();}</pre>
 */
final class RevisionModules {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** {@code revision_modules.py}: {@code facts(source)} and {@code main()}, which nothing calls. */
  static final String SCRIPT = script();

  /**
   * One module's facts.
   *
   * @param phase the string its top-level {@code lockstep_phase} assigns, or null
   * @param phaseError why its {@code lockstep_phase} is not read (not a string literal), or null
   * @param syntaxError where it does not parse, or null (Alembic then refuses the set too)
   */
  record Module(boolean autocommit, String phase, String phaseError, String syntaxError) {
    static final Module PLAIN = new Module(false, null, null, null);
  }

  private final Map<String, Module> byFile;

  private RevisionModules(Map<String, Module> byFile) {
    this.byFile = Map.copyOf(byFile);
  }

  /** What {@code facts()} said of each file (by the driver: {@link AlembicDriver#inspect}). */
  static RevisionModules from(Map<String, Module> byFile) {
    return new RevisionModules(byFile);
  }

  /** A module's facts; a file the set does not hold is plain (transactional, no phase). */
  Module of(String file) {
    return file == null ? Module.PLAIN : byFile.getOrDefault(file, Module.PLAIN);
  }

  /**
   * Reads every {@code .py} file of {@code set}. Blocking: run it on a worker.
   *
   * @param python the interpreter and its leading arguments
   * @throws LockstepException UNPROCESSABLE when the interpreter cannot be run or the script fails
   */
  static RevisionModules read(List<String> python, MigrationSet set, Duration timeout) {
    Map<String, String> sources = new java.util.TreeMap<>();
    set.files().forEach((name, text) -> {
      if (name.endsWith(".py")) {
        sources.put(name, text);
      }
    });
    if (sources.isEmpty()) {
      return new RevisionModules(Map.of());
    }
    List<String> command = new ArrayList<>(python);
    command.add("-c");
    command.add(SCRIPT + "\nmain()\n");
    Process process;
    try {
      process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw unprocessable("cannot run " + String.join(" ", python) + " to read the revision modules (" + e.getMessage()
          + "): name Alembic's interpreter with --alembic-command 'PYTHON -m alembic'");
    }
    try {
      // Written on its own thread: a large set fills the pipe before the script has read all of it.
      Thread writer = new Thread(() -> {
        try (OutputStream in = process.getOutputStream()) {
          JSON.writeValue(in, sources);
        } catch (IOException e) {
          // The script died; its exit code says so below.
        }
      }, "alembic-modules");
      writer.setDaemon(true);
      writer.start();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      Thread reader = new Thread(() -> {
        try (InputStream from = process.getInputStream()) {
          from.transferTo(out);
        } catch (IOException e) {
          // The script died; its exit code says so below.
        }
      }, "alembic-modules-out");
      reader.setDaemon(true);
      reader.start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw unprocessable("reading the revision modules with " + String.join(" ", python) + " took over "
            + timeout.toSeconds() + " s");
      }
      if (process.exitValue() != 0) {
        throw unprocessable("reading the revision modules with " + String.join(" ", python) + " failed (exit "
            + process.exitValue() + "); Alembic needs Python 3.8 or later");
      }
      reader.join(timeout.toMillis());
      return new RevisionModules(JSON.readValue(out.toByteArray(), new TypeReference<Map<String, Module>>() {}));
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw unprocessable("reading the revision modules was interrupted");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String script() {
    try (InputStream in = RevisionModules.class.getResourceAsStream("revision_modules.py")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException | NullPointerException e) {
      throw new IllegalStateException("revision_modules.py is missing from the coordinator's jar", e);
    }
  }

  private static LockstepException unprocessable(String message) {
    return new LockstepException(LockstepException.Code.UNPROCESSABLE, message);
  }
}
