package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.CatalogSnapshot.HistoryEntry;
import dev.lockstep.rules.MigrationFolder.Migration;
import java.io.IOException;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import org.flywaydb.core.api.MigrationVersion;
import java.util.Map;

/**
 * {@code failed-migration}: Flyway's history says the database is not where the migrations folder
 * says it should be, so Flyway would refuse to migrate (or worse, the release would run on a schema
 * nobody described). It blocks, naming the versions, when:
 *
 * <ul>
 *   <li>an entry failed ({@code success = false}: a non-transactional migration that broke halfway);</li>
 *   <li>an applied SQL migration's checksum no longer matches its file (the file was edited after it
 *       ran), or its description does not (the file was renamed);</li>
 *   <li>an applied migration has no file, though newer ones do (Flyway's "applied migration not resolved
 *       locally"); versions newer than every file are future migrations, which Flyway ignores.</li>
 * </ul>
 *
 * <p>It never repairs: rewriting the history would hide exactly what someone has to look at. The
 * checksum checks need the migrations folder ({@link InspectionContext#migrations()}); without it only
 * failed entries are reported.
 *
 * <pre>{@code
 * engine.inspect(connection, InspectionContext.empty().withMigrations(Path.of("migrations")));
 * // Finding[rule=failed-migration, severity=BLOCK, object=V2, message=migration V2 (create post) was applied
 * //   with checksum 1204755330, but V2__create_post.sql now has checksum -873361012: …]
 * }</pre>
 */
public final class FailedMigrationRule implements Rule {
  public static final String ID = "failed-migration";
  private static final String NEVER_REWRITTEN = "; Lockstep never rewrites the history itself";

  @Override
  public String id() {
    return ID;
  }

  @Override
  public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection) {
    return inspect(snapshot, connection, InspectionContext.empty());
  }

  @Override
  public List<Finding> inspect(CatalogSnapshot snapshot, Connection connection, InspectionContext context) {
    List<HistoryEntry> history = snapshot.flywayHistory();
    List<Finding> findings = new ArrayList<>(failed(history));
    if (context.migrations() != null && !history.isEmpty()) {
      findings.addAll(compareWithFolder(latestSuccessfulByVersion(history), context));
    }
    return findings;
  }

  /** Failed entries not followed by a successful run of the same migration. */
  private static List<Finding> failed(List<HistoryEntry> history) {
    List<Finding> findings = new ArrayList<>();
    for (int i = 0; i < history.size(); i++) {
      HistoryEntry entry = history.get(i);
      if (entry.success() || succeededLater(history, i)) {
        continue;
      }
      findings.add(new Finding(ID, Severity.BLOCK, label(entry), "Flyway's history (installed rank "
          + entry.installedRank() + ") says migration " + describe(entry) + " failed, so Flyway will not migrate"
          + " past it, and the schema may be half-changed; see what of " + entry.script() + " was applied, complete"
          + " or undo it by hand, then remove the failed entry (flyway repair) and run the release again"
          + NEVER_REWRITTEN, List.of()));
    }
    return findings;
  }

  private static boolean succeededLater(List<HistoryEntry> history, int index) {
    HistoryEntry failed = history.get(index);
    return history.subList(index + 1, history.size()).stream().anyMatch(later -> later.success()
        && (failed.version() != null ? sameVersion(failed.version(), later.version())
            : failed.script() != null && failed.script().equals(later.script())));
  }

  /** Per version, the newest successful SQL entry: the one Flyway validates. */
  private static Map<MigrationVersion, HistoryEntry> latestSuccessfulByVersion(List<HistoryEntry> history) {
    Map<MigrationVersion, HistoryEntry> latest = new LinkedHashMap<>();
    for (HistoryEntry entry : history) {
      if (entry.success() && "SQL".equals(entry.type()) && MigrationFolder.numeric(entry.version())) {
        latest.put(MigrationFolder.key(entry.version()), entry);
      }
    }
    return latest;
  }

  private static List<Finding> compareWithFolder(Map<MigrationVersion, HistoryEntry> applied, InspectionContext context) {
    List<Migration> files;
    try {
      files = MigrationFolder.scan(context.migrations());
    } catch (IOException e) {
      return List.of(new Finding(ID, Severity.BLOCK, context.migrations().toString(), "the migrations folder "
          + context.migrations() + " cannot be read (" + e + "), so Flyway's history cannot be checked against it;"
          + " fix the folder, then run the release again", List.of()));
    }
    Map<MigrationVersion, Migration> byVersion = new HashMap<>();
    List<Finding> findings = new ArrayList<>();
    for (Migration file : files) {
      Migration clash = byVersion.putIfAbsent(MigrationFolder.key(file.version()), file);
      if (clash != null) {
        findings.add(new Finding(ID, Severity.BLOCK, "V" + file.version(), "the migrations folder has two files for"
            + " version " + file.version() + ": " + clash.file() + " and " + file.file() + "; Flyway refuses that,"
            + " so keep one", List.of()));
      }
    }
    MigrationVersion newestFile = files.isEmpty() ? null : MigrationFolder.key(files.get(files.size() - 1).version());
    for (HistoryEntry entry : applied.values()) {
      Migration file = byVersion.get(MigrationFolder.key(entry.version()));
      if (file == null) {
        if (newestFile != null && MigrationFolder.key(entry.version()).compareTo(newestFile) < 0) {
          findings.add(new Finding(ID, Severity.BLOCK, label(entry), "migration " + describe(entry) + " was applied"
              + " (installed rank " + entry.installedRank() + "), but the migrations folder " + context.migrations()
              + " has no file for it, though it has newer ones, so Flyway would refuse to migrate; restore "
              + entry.script() + " to the folder, then run the release again" + NEVER_REWRITTEN, List.of()));
        }
        continue;
      }
      Finding changed = changed(entry, file);
      if (changed != null) {
        findings.add(changed);
      }
    }
    return findings;
  }

  private static Finding changed(HistoryEntry entry, Migration file) {
    List<String> differences = new ArrayList<>();
    if (entry.checksum() != null && entry.checksum() != file.checksum()) {
      differences.add("was applied with checksum " + entry.checksum() + ", but " + file.file() + " now has checksum "
          + file.checksum() + " (the file was edited after it ran)");
    }
    if (entry.description() != null && !entry.description().equals(file.description())) {
      differences.add("was applied as \"" + entry.description() + "\", but its file is now " + file.file()
          + " (\"" + file.description() + "\")");
    }
    if (differences.isEmpty()) {
      return null;
    }
    return new Finding(ID, Severity.BLOCK, label(entry), "migration " + describe(entry) + " "
        + String.join(", and ", differences) + "; Flyway validates applied migrations and would refuse to migrate."
        + " Restore the file as it was applied; or, if the database really matches the new file, align the history"
        + " with flyway repair; then run the release again" + NEVER_REWRITTEN, List.of());
  }

  private static boolean sameVersion(String a, String b) {
    if (a == null || b == null) {
      return false;
    }
    if (MigrationFolder.numeric(a) && MigrationFolder.numeric(b)) {
      return MigrationFolder.key(a).equals(MigrationFolder.key(b));
    }
    return a.equals(b);
  }

  private static String label(HistoryEntry entry) {
    return entry.version() != null ? "V" + entry.version() : String.valueOf(entry.script());
  }

  private static String describe(HistoryEntry entry) {
    return label(entry) + (entry.description() == null || entry.description().isEmpty() ? ""
        : " (" + entry.description() + ")");
  }
}
