package dev.lockstep.protocol;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * SHA-256 over a migrations folder: the name and bytes of every {@code .sql} file and every Flyway
 * per-script config file ({@code .sql.conf}, which changes how a script runs), found in subfolders
 * too as Flyway finds them, in file-name order.
 * An agent acknowledges PREPARING with the digest of the folder it staged; the coordinator refuses
 * to migrate unless every agent staged exactly what it is about to apply.
 *
 * <pre>{@code String digest = MigrationsDigest.of(Path.of("db/migrations")); // "9f2c…"}</pre>
 */
public final class MigrationsDigest {
  private MigrationsDigest() {}

  public static String of(Path folder) {
    if (!Files.isDirectory(folder)) {
      throw new IllegalArgumentException("migrations folder " + folder + " does not exist or is not a folder");
    }
    try (Stream<Path> files = Files.walk(folder)) {
      List<Path> sql = files
          .filter(Files::isRegularFile)
          .filter(p -> p.getFileName().toString().endsWith(".sql") || p.getFileName().toString().endsWith(".sql.conf"))
          .sorted(java.util.Comparator.comparing(p -> p.getFileName().toString()))
          .toList();
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (Path file : sql) {
        sha.update(file.getFileName().toString().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(Files.readAllBytes(file));
        sha.update((byte) 0);
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read migrations folder " + folder, e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from this JVM", e);
    }
  }

  /** The first 12 hex digits, enough to tell builds apart in messages. */
  public static String shortForm(String digest) {
    return digest == null ? "none" : digest.substring(0, Math.min(12, digest.length()));
  }
}
