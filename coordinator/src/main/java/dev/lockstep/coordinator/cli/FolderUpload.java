package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.MigrationsDigest;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * {@code --migrations DIR} of {@code release} and {@code check}: the folder's migration files, exactly the
 * ones (and bytes) an agent digests when it stages that folder, as the request's {@code migrations}
 * field (file name → Base64).
 *
 * <pre>{@code request.withMigrations(FolderUpload.read(Path.of("db/migrations"), System.err))}</pre>
 */
final class FolderUpload {
  private FolderUpload() {}

  /** Reads {@code folder}, saying on {@code progress} what it uploads. */
  static Map<String, String> read(Path folder, PrintStream progress) {
    SortedMap<String, byte[]> files;
    try {
      files = MigrationsDigest.files(folder);
    } catch (IllegalArgumentException | UncheckedIOException e) {
      throw new CliException(2, "--migrations: " + e.getMessage());
    }
    Map<String, String> upload = new TreeMap<>();
    long bytes = 0;
    for (Map.Entry<String, byte[]> file : files.entrySet()) {
      upload.put(file.getKey(), Base64.getEncoder().encodeToString(file.getValue()));
      bytes += file.getValue().length;
    }
    progress.printf("uploading migration set %s: %d file(s), %d bytes, from %s%n",
        MigrationsDigest.shortForm(MigrationsDigest.of(files)), files.size(), bytes, folder);
    return upload;
  }
}
