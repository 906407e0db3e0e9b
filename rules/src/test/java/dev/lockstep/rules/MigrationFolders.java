package dev.lockstep.rules;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A folder of migrations read into memory, as the rules get them: every regular file below it by its path
 * relative to the folder ({@code sub/V2__b.sql}), read as UTF-8, named "the migrations folder …" in messages.
 *
 * <pre>{@code InspectionContext.empty().withMigrationFiles(MigrationFolders.read(folder))}</pre>
 */
final class MigrationFolders {
  private MigrationFolders() {}

  static MigrationFiles read(Path folder) throws IOException {
    SortedMap<String, String> files = new TreeMap<>();
    try (Stream<Path> paths = Files.walk(folder)) {
      for (Path file : paths.filter(Files::isRegularFile).toList()) {
        files.put(folder.relativize(file).toString().replace('\\', '/'), Files.readString(file, StandardCharsets.UTF_8));
      }
    }
    return new MigrationFiles("the migrations folder " + folder, files);
  }
}
