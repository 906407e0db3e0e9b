package dev.lockstep.protocol;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The canonical digest of a migration set: SHA-256 over the name and bytes of every {@code .sql} file,
 * every Flyway per-script config file ({@code .sql.conf}, which changes how a script runs) and every
 * Alembic revision ({@code .py}), in name order. A folder's files are found in subfolders too, as Flyway finds them, by
 * their file name; only a {@code contract/} subfolder stays in the name ({@link #name}).
 * An agent acknowledges PREPARING with the digest of the folder it staged; the coordinator computes
 * the same function over the (name, bytes) pairs of the set a release carries, and refuses to migrate
 * unless every agent staged exactly that set.
 *
 * <pre>{@code String staged = MigrationsDigest.of(Path.of("db/migrations"));           // "9f2c…"
 * String carried = MigrationsDigest.of(MigrationsDigest.files(Path.of("db/migrations"))); // the same}</pre>
 */
public final class MigrationsDigest {
  /** The subfolder whose migrations run after the switch, once no server runs old code: {@code contract}. */
  public static final String CONTRACT_FOLDER = "contract";

  private MigrationsDigest() {}

  /** The digest of a folder, as an agent computes it over what it staged. */
  public static String of(Path folder) {
    return digest(pairs(folder));
  }

  /** The digest of a set given as file name → bytes: the same function as {@link #of(Path)}. */
  public static String of(SortedMap<String, byte[]> files) {
    return digest(new ArrayList<>(files.entrySet()));
  }

  /**
   * The files {@link #of(Path)} digests, by name: what {@code release --migrations DIR} uploads.
   *
   * @throws IllegalArgumentException if two files in different subfolders have one name (Flyway would
   *     see both; a set by name cannot hold them)
   */
  public static SortedMap<String, byte[]> files(Path folder) {
    SortedMap<String, byte[]> files = new TreeMap<>();
    for (Map.Entry<String, byte[]> file : pairs(folder)) {
      if (files.put(file.getKey(), file.getValue()) != null) {
        throw new IllegalArgumentException("migration file " + file.getKey() + " is in " + folder
            + " twice (in two subfolders); keep one");
      }
    }
    return files;
  }

  /**
   * Whether a migration tool reads a file of this name: Flyway's {@code .sql} scripts and their {@code .sql.conf},
   * Alembic's {@code .py} revisions (a {@code versions} folder; its {@code __pycache__} holds {@code .pyc} only).
   */
  public static boolean isMigrationFile(String name) {
    return name.endsWith(".sql") || name.endsWith(".sql.conf") || name.endsWith(".py");
  }

  private static List<Map.Entry<String, byte[]>> pairs(Path folder) {
    if (!Files.isDirectory(folder)) {
      throw new IllegalArgumentException("migrations folder " + folder + " does not exist or is not a folder");
    }
    try (Stream<Path> files = Files.walk(folder)) {
      List<Path> found = files
          .filter(Files::isRegularFile)
          .filter(p -> isMigrationFile(p.getFileName().toString()))
          .toList();
      List<Map.Entry<String, byte[]>> pairs = new ArrayList<>();
      for (Path file : found) {
        pairs.add(Map.entry(name(folder, file), Files.readAllBytes(file)));
      }
      pairs.sort(Map.Entry.comparingByKey());
      return pairs;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read migrations folder " + folder, e);
    }
  }

  /**
   * A file's name in the set: its file name, whatever subfolder it is in, except that a file in a folder named {@value
   * #CONTRACT_FOLDER} (below the set's root) keeps that folder: {@code contract/V7__drop_legacy_name.sql}, a contract
   * migration (DESIGN.md, "Contract migrations").
   */
  static String name(Path root, Path file) {
    Path parent = root.relativize(file).getParent();
    boolean contract = parent != null && parent.getFileName().toString().equals(CONTRACT_FOLDER);
    return (contract ? CONTRACT_FOLDER + "/" : "") + file.getFileName().toString();
  }

  /** SHA-256 of one file's bytes, in hex: how a stored set addresses a file's content. */
  public static String sha256(byte[] bytes) {
    return HexFormat.of().formatHex(sha256().digest(bytes));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from this JVM", e);
    }
  }

  /** {@code pairs} sorted by name. */
  private static String digest(List<Map.Entry<String, byte[]>> pairs) {
    MessageDigest sha = sha256();
    for (Map.Entry<String, byte[]> file : pairs) {
        sha.update(file.getKey().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(file.getValue());
        sha.update((byte) 0);
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  /** The first 12 hex digits, enough to tell builds apart in messages. */
  public static String shortForm(String digest) {
    return digest == null ? "none" : digest.substring(0, Math.min(12, digest.length()));
  }
}
