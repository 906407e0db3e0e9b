package dev.lockstep.protocol;

import java.util.List;

/**
 * {@code GET /v1/releases/{id}/migrations}: the migration set a release carries, as stored when it was
 * created. One file is {@code GET /v1/releases/{id}/migrations/{name}}.
 *
 * @param releaseId the release
 * @param migrationsDigest the set's digest ({@link MigrationsDigest}), as in the release document
 * @param files every file, by name
 */
public record MigrationSetListing(String releaseId, String migrationsDigest, List<File> files) {
  public MigrationSetListing {
    files = files == null ? List.of() : List.copyOf(files);
  }

  /**
   * One file of the set.
   *
   * @param name its file name
   * @param bytes its size
   * @param sha256 SHA-256 of its bytes
   * @param checksum the checksum Flyway records in its history for a {@code .sql} script (null for a {@code .sql.conf})
   */
  public record File(String name, long bytes, String sha256, Integer checksum) {}
}
