package dev.lockstep.rules;

import dev.lockstep.protocol.Finding;
import dev.lockstep.protocol.Severity;
import dev.lockstep.rules.CatalogSnapshot.HistoryEntry;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.api.MigrationVersion;

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
 * checksum checks need the release's migration files ({@link InspectionContext#migrations()}, in memory);
 * without them only failed entries are reported. Files are recognised by {@link MigrationFileName}, as
 * the coordinator's Flyway engine reads them.
 *
 * <pre>{@code
 * engine.inspect(connection, InspectionContext.empty().withMigrationFiles(set.origin(), set.files()));
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
      findings.addAll(compareWithFiles(latestSuccessfulByVersion(history), context));
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
      if (entry.success() && "SQL".equals(entry.type()) && numeric(entry.version())) {
        latest.put(key(entry.version()), entry);
      }
    }
    return latest;
  }

  private static List<Finding> compareWithFiles(Map<MigrationVersion, HistoryEntry> applied, InspectionContext context) {
    MigrationFiles migrations = context.migrations();
    List<Migration> files = versioned(migrations);
    Map<MigrationVersion, Migration> byVersion = new HashMap<>();
    List<Finding> findings = new ArrayList<>();
    for (Migration file : files) {
      Migration clash = byVersion.putIfAbsent(file.version(), file);
      if (clash != null) {
        findings.add(new Finding(ID, Severity.BLOCK, "V" + file.version(), migrations.origin() + " has two files for"
            + " version " + file.version() + ": " + clash.file() + " and " + file.file() + "; Flyway refuses that,"
            + " so keep one", List.of()));
      }
    }
    MigrationVersion newestFile = files.isEmpty() ? null : files.get(files.size() - 1).version();
    for (HistoryEntry entry : applied.values()) {
      Migration file = byVersion.get(key(entry.version()));
      if (file == null) {
        if (newestFile != null && key(entry.version()).compareTo(newestFile) < 0) {
          findings.add(new Finding(ID, Severity.BLOCK, label(entry), "migration " + describe(entry) + " was applied"
              + " (installed rank " + entry.installedRank() + "), but " + migrations.origin()
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

  /**
   * A versioned SQL migration among the files (a {@code V…sql} whose version Flyway reads), with the version,
   * description and checksum Flyway would record.
   *
   * @param file its name in the files, e.g. {@code V2__create_post.sql}
   */
  private record Migration(MigrationVersion version, String description, String file, int checksum) {}

  /** The versioned migrations of {@code files}, by version (files of one version in name order). */
  private static List<Migration> versioned(MigrationFiles files) {
    List<Migration> migrations = new ArrayList<>();
    files.files().forEach((file, content) -> MigrationFileName.parse(MigrationFiles.fileName(file))
        .filter(MigrationFileName::versionedScript)
        .ifPresent(name -> migrations.add(new Migration(name.version(), name.description(), file,
            FlywayChecksum.of(content)))));
    migrations.sort(Comparator.comparing(Migration::version));
    return migrations;
  }

  /** A version as Flyway reads and compares it ({@code 1.0} is {@code 1}, {@code 1.01} is {@code 1.1}). */
  private static MigrationVersion key(String version) {
    return MigrationVersion.fromVersion(version);
  }

  /** Whether {@code version} reads as a Flyway version, so that {@link #key} can compare it. */
  private static boolean numeric(String version) {
    return version != null && version.matches("[0-9][0-9._]*") && !version.contains("..");
  }

  private static boolean sameVersion(String a, String b) {
    if (a == null || b == null) {
      return false;
    }
    if (numeric(a) && numeric(b)) {
      return key(a).equals(key(b));
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
