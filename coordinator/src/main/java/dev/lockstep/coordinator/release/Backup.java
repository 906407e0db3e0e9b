package dev.lockstep.coordinator.release;

import dev.lockstep.protocol.BackupResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The operator's backup command ({@code --backup-command}, typically {@code pg_dump} to a file named
 * after the release), run through {@code sh -c} under the lock once the fleet has prepared and before
 * MIGRATING: in a maintenance release the old code has stopped writing by then. Blocks; the run
 * calls it on the worker pool. Its stdout goes to a temporary file that is deleted (a dump may go
 * there); the tail of its stderr is kept for the release document.
 *
 * <pre>{@code BackupResult r = backup.run("r-20261201-1200-ab12", "app");}</pre>
 */
public final class Backup {
  private static final int TAIL = 2000;

  private final String command;
  private final Duration timeout;
  private final String databaseUrl;
  private final Clock clock;

  /**
   * @param command the shell command; null or blank for none
   * @param databaseUrl given to the command as {@code DATABASE_URL} (never logged or recorded)
   */
  public Backup(String command, Duration timeout, String databaseUrl, Clock clock) {
    this.command = command == null || command.isBlank() ? null : command;
    this.timeout = timeout;
    this.databaseUrl = databaseUrl;
    this.clock = clock;
  }

  public boolean configured() {
    return command != null;
  }

  public Duration timeout() {
    return timeout;
  }

  BackupResult run(String releaseId, String service) throws IOException, InterruptedException {
    Instant started = clock.instant();
    Path out = Files.createTempFile("lockstep-backup-", ".out");
    Path err = Files.createTempFile("lockstep-backup-", ".err");
    try {
      ProcessBuilder builder = new ProcessBuilder("sh", "-c", command)
          .redirectOutput(out.toFile()).redirectError(err.toFile());
      Map<String, String> env = builder.environment();
      env.put("LOCKSTEP_RELEASE_ID", releaseId);
      env.put("LOCKSTEP_SERVICE", service);
      env.put("DATABASE_URL", databaseUrl);
      Process process = builder.start();
      boolean finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!finished) {
        // The whole process tree: pg_dump runs as a child of sh.
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
      long ms = Duration.between(started, clock.instant()).toMillis();
      return new BackupResult(started.toString(), ms, finished ? process.exitValue() : null, !finished, tail(err));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static String tail(Path file) throws IOException {
    String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip();
    return text.length() <= TAIL ? text : "…" + text.substring(text.length() - TAIL);
  }
}
