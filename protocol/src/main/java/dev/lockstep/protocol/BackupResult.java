package dev.lockstep.protocol;

/**
 * What the release's backup command did (DESIGN.md, {@code --backup-command}), in the release
 * document as {@code backup}. The command itself is not recorded: it may carry a secret.
 *
 * @param startedAt when it started (ISO-8601)
 * @param durationMs how long it ran
 * @param exitCode its exit status; null if it was stopped for running past the timeout
 * @param timedOut whether it ran past {@code --backup-timeout} and was killed
 * @param stderrTail the last lines of its standard error (at most 2,000 characters)
 */
public record BackupResult(String startedAt, long durationMs, Integer exitCode, boolean timedOut, String stderrTail) {

  public boolean succeeded() {
    return !timedOut && exitCode != null && exitCode == 0;
  }
}
