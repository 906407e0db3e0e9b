package dev.lockstep.coordinator.migration.alembic;

import dev.lockstep.protocol.AppliedMigration;
import dev.lockstep.coordinator.set.MigrationSet;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One alembic run's progress, from its output: each {@code Running upgrade a1 -> b2, message} line starts a revision
 * (and ends the one before), so the release events name each revision as it starts and the run reports which
 * completed — the last one only if the whole run succeeded. Every line also goes to the coordinator's log.
 */
final class AlembicProgress implements AlembicRunner.Listener {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AlembicEngine.class);
  /** Alembic's step: {@code upgrade a1 -> b2, add orders} (a merge: {@code a1, c3 -> d4}). */
  private static final Pattern STEP = Pattern.compile("(upgrade|downgrade) (.*?) -> (.*?), (.*)$");

  private final MigrationSet set;
  private final Consumer<String> output;
  private final List<AppliedMigration> done = new ArrayList<>();
  private String running;
  private String runningMessage;
  private boolean undo;
  private long startedNanos;

  AlembicProgress(MigrationSet set, Consumer<String> output) {
    this.set = set;
    this.output = output;
  }

  @Override
  public void text(String line) {
    LOG.info("[alembic] {}", line); // all of it in the coordinator's log; the release events get the revisions
  }

  @Override
  public synchronized void revision(String step) {
    Matcher m = STEP.matcher(step);
    if (m.matches()) {
      finishRunning();
      undo = m.group(1).equals("downgrade");
      running = undo ? m.group(2).trim() : m.group(3).trim();
      runningMessage = undo ? undoMessage(m.group(3), m.group(4)) : m.group(4).trim();
      startedNanos = System.nanoTime();
      output.accept("alembic: Running " + step);
    }
  }

  /**
   * The message of {@code Running downgrade c3 -> a1, b2, merge a1 b2}: the arrow's right side lists every parent
   * of a merge (none at base), so the message starts after the ids, not at the first comma.
   */
  private String undoMessage(String afterArrow, String rest) {
    String[] parts = (afterArrow + ", " + rest).split(", ", -1);
    int i = 0;
    while (i < parts.length - 1 && (parts[i].isBlank() || fileOf(parts[i].trim()) != null)) {
      i++;
    }
    return String.join(", ", java.util.Arrays.asList(parts).subList(i, parts.length)).trim();
  }

  /** The revisions that completed; the one running when the process ended counts only if it succeeded. */
  synchronized List<AppliedMigration> done() {
    return List.copyOf(done);
  }

  synchronized String running() {
    return running == null ? null : running + " (" + runningMessage + ")";
  }

  private void finishRunning() {
    if (running != null) {
      done.add(new AppliedMigration(running, (undo ? "undo " : "") + runningMessage, fileOf(running),
          (System.nanoTime() - startedNanos) / 1_000_000));
      running = null;
    }
  }

  private String fileOf(String id) {
    return set.files().keySet().stream().filter(f -> f.startsWith(id + "_") || f.equals(id + ".py")).findFirst()
        .orElse(null);
  }

  /** After a successful run, the last revision it started has completed too. */
  synchronized void succeeded() {
    finishRunning();
  }
}
