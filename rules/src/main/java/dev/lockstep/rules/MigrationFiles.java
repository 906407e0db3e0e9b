package dev.lockstep.rules;

import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The migration files a release carries, in memory: what {@code failed-migration} compares Flyway's history with.
 * Nothing is read from disk; the checksums are Flyway's, computed from the text ({@link FlywayChecksum#of(String)}),
 * which equal those of the files the text was read from.
 *
 * <pre>{@code
 * MigrationFiles files = new MigrationFiles("the uploaded set", set.files());
 * InspectionContext context = InspectionContext.empty().withMigrationFiles(files);
 * }</pre>
 *
 * @param origin where the files come from, as messages name it: {@code the migrations folder /srv/app/migrations},
 *     {@code the uploaded set}
 * @param files file name to content (the text of the file read as UTF-8, byte-order mark and line ends as they
 *     are); a name may be a path below the folder ({@code sub/V2__b.sql}), as Flyway finds migrations in
 *     subfolders too, and only its last segment is read as a migration's name
 */
public record MigrationFiles(String origin, SortedMap<String, String> files) {
  public MigrationFiles {
    if (origin == null || files == null) {
      throw new IllegalArgumentException("migration files need an origin and a map of files, got " + origin
          + " and " + (files == null ? null : files.size() + " file(s)"));
    }
    files = Collections.unmodifiableSortedMap(new TreeMap<>(files));
  }

  /** The file name of {@code path}: what follows its last {@code /}. */
  static String fileName(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }
}
