package dev.lockstep.coordinator.preflight;

import dev.lockstep.coordinator.LockstepException;
import dev.lockstep.coordinator.migration.MigrationPlan;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.protocol.Mode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Decides {@code online} or {@code maintenance} for {@code auto} releases from the text of the
 * pending migrations: anything that drops, renames or retypes what old code reads, or adds NOT NULL
 * to an existing column, needs maintenance. This is the conservative first version of the seam;
 * the rehearsal (run the migrations in a rolled-back transaction and compare catalogs) replaces
 * the text scan behind the same method.
 */
public final class ModeClassifier {
  private record Pattern_(Pattern pattern, String why) {}

  private static final List<Pattern_> DESTRUCTIVE = List.of(
      new Pattern_(Pattern.compile("\\bDROP\\s+(TABLE|VIEW|MATERIALIZED\\s+VIEW|SCHEMA)\\b"), "drops a table or view"),
      new Pattern_(Pattern.compile("\\bDROP\\s+COLUMN\\b"), "drops a column"),
      new Pattern_(Pattern.compile("\\bRENAME\\b"), "renames a table or column"),
      new Pattern_(Pattern.compile("\\bALTER\\s+COLUMN\\s+\\S+\\s+(SET\\s+DATA\\s+)?TYPE\\b"), "changes a column type"),
      new Pattern_(Pattern.compile("\\bSET\\s+NOT\\s+NULL\\b"), "adds NOT NULL to an existing column"),
      new Pattern_(Pattern.compile("\\bTRUNCATE\\b"), "truncates a table"));

  private static final Pattern NON_TRANSACTIONAL =
      Pattern.compile("\\b(CONCURRENTLY|VACUUM|ALTER\\s+SYSTEM|CREATE\\s+DATABASE|DROP\\s+DATABASE)\\b");

  /**
   * @throws LockstepException UNPROCESSABLE naming a migration that cannot run in a transaction
   */
  public ModeDecision classify(MigrationPlan plan, Mode requested) {
    List<String> reasons = new ArrayList<>();
    for (PendingMigration m : plan.pending()) {
      String sql = withoutComments(m.sql()).toUpperCase(Locale.ROOT);
      if (NON_TRANSACTIONAL.matcher(sql).find()) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "migration " + m.label()
            + " cannot run in a transaction (CONCURRENTLY, VACUUM …), so the release could not be atomic;"
            + " this coordinator refuses non-transactional migrations for now: make it transactional"
            + " (drop CONCURRENTLY) or apply it outside a release");
      }
      for (Pattern_ p : DESTRUCTIVE) {
        if (p.pattern().matcher(sql).find()) {
          reasons.add(m.label() + " " + p.why());
        }
      }
    }
    if (requested == Mode.ONLINE || requested == Mode.MAINTENANCE) {
      String why = requested == Mode.ONLINE && !reasons.isEmpty()
          ? "requested by the operator, although " + String.join("; ", reasons)
          : "requested by the operator";
      return new ModeDecision(requested, why);
    }
    if (reasons.isEmpty()) {
      return new ModeDecision(Mode.ONLINE, plan.pending().isEmpty()
          ? "no pending migrations" : "the pending migrations only add; old code keeps serving until the switch");
    }
    return new ModeDecision(Mode.MAINTENANCE, String.join("; ", reasons));
  }

  private static String withoutComments(String sql) {
    return sql.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("--[^\\n]*", " ");
  }
}
