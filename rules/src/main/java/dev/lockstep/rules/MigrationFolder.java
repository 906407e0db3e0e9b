package dev.lockstep.rules;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.flywaydb.core.api.MigrationVersion;

/**
 * The versioned SQL migrations of a folder as Flyway names them ({@code V<version>__<description>.sql},
 * found in subfolders too, read by {@link MigrationFileName}), with the version, description and checksum
 * Flyway would record. Undo
 * ({@code U…}) and repeatable ({@code R__…}) scripts are not listed: a changed repeatable script is
 * simply run again, not an error.
 */
final class MigrationFolder {
  private MigrationFolder() {}

  /**
   * A versioned migration file.
   *
   * @param version as Flyway prints it, underscores read as dots, e.g. {@code 1.1}
   * @param description underscores read as spaces, e.g. {@code create post}
   * @param file relative to the folder
   */
  record Migration(String version, String description, Path file, int checksum) {}

  static List<Migration> scan(Path folder) throws IOException {
    List<Migration> migrations = new ArrayList<>();
    try (Stream<Path> files = Files.walk(folder)) {
      for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
        Optional<MigrationFileName> name = MigrationFileName.parse(file.getFileName().toString())
            .filter(MigrationFileName::versionedScript);
        if (name.isPresent()) {
          migrations.add(new Migration(name.get().version().getVersion(), name.get().description(),
              folder.relativize(file), FlywayChecksum.of(file)));
        }
      }
    }
    migrations.sort(Comparator.comparing(migration -> key(migration.version())));
    return migrations;
  }

  /** A version as Flyway reads and compares it ({@code 1.0} is {@code 1}, {@code 1.01} is {@code 1.1}). */
  static MigrationVersion key(String version) {
    return MigrationVersion.fromVersion(version);
  }

  /** Whether {@code version} reads as a Flyway version, so that {@link #key} can compare it. */
  static boolean numeric(String version) {
    return version != null && version.matches("[0-9][0-9._]*") && !version.contains("..");
  }
}
