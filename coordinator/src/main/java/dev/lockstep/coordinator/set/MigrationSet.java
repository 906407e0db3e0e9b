package dev.lockstep.coordinator.set;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.protocol.MigrationsDigest;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The migration files a release carries, by file name, whatever tool runs them: identified by its {@link #digest()},
 * the same function agents compute over the folder they staged ({@link MigrationsDigest}), stored content-addressed.
 * What the files mean — Flyway's versions and undo scripts, Alembic's revision graph — is the engine's view of the set
 * ({@code FlywaySet}, {@code AlembicEngine}); this class knows only which tool's files they are ({@link Kind}), that
 * each is a plain file name and UTF-8, and that the two kinds are not mixed.
 *
 * <pre>{@code MigrationSet set = MigrationSet.read(Path.of("db/migrations"));
 * String digest = set.digest();                      // as MigrationsDigest.of(folder)
 * set.requireKind(MigrationSet.Kind.FLYWAY);         // 422 for an Alembic versions folder}</pre>
 */
public final class MigrationSet {
  /** Which tool's files a set holds: Flyway's SQL scripts, or an Alembic {@code versions} folder's Python revisions. */
  public enum Kind {
    FLYWAY("Flyway SQL migrations (V…__….sql)", "flyway"),
    ALEMBIC("Alembic revisions (….py)", "alembic");

    private final String describe;
    private final String engine;

    Kind(String describe, String engine) {
      this.describe = describe;
      this.engine = engine;
    }
  }

  /** The longest file name a set holds, in UTF-8 bytes: what file systems allow. */
  public static final int MAX_NAME_BYTES = 255;

  private final String origin;
  private final Kind kind;
  private final SortedMap<String, String> files;
  private final String digest;
  private final Map<String, String> sha256;

  private MigrationSet(String origin, Kind kind, SortedMap<String, String> files, String digest, Map<String, String> sha256) {
    this.origin = origin;
    this.kind = kind;
    this.files = files;
    this.digest = digest;
    this.sha256 = sha256;
  }

  /** The migration files of {@code folder} and its subfolders ({@link MigrationsDigest#files}), checked by {@link #of}. */
  public static MigrationSet read(Path folder) {
    SortedMap<String, byte[]> files;
    try {
      files = MigrationsDigest.files(folder);
    } catch (IllegalArgumentException e) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, e.getMessage());
    }
    return of("the migrations folder " + folder, files);
  }

  /**
   * A set from file name → bytes: every name a plain file name, every file UTF-8, not Alembic revisions mixed with
   * other files. Whether the files make a set their tool can run is the engine's to check ({@code accept}).
   *
   * @param origin where the files come from, for messages ("the migrations folder /srv/m", "the uploaded set")
   * @throws LockstepException UNPROCESSABLE naming the file
   */
  public static MigrationSet of(String origin, SortedMap<String, byte[]> bytes) {
    Kind kind = kindOf(origin, bytes.keySet());
    SortedMap<String, String> files = new TreeMap<>();
    Map<String, String> sha256 = new HashMap<>();
    for (Map.Entry<String, byte[]> file : bytes.entrySet()) {
      checkPlainName(origin, file.getKey());
      files.put(file.getKey(), utf8(origin, file.getKey(), file.getValue()));
      sha256.put(file.getKey(), MigrationsDigest.sha256(file.getValue()));
    }
    return new MigrationSet(origin, kind, files, MigrationsDigest.of(bytes), sha256);
  }

  /** Alembic when every file is a {@code .py} revision; Flyway otherwise (and for no files). A mix is refused. */
  private static Kind kindOf(String origin, java.util.Set<String> names) {
    long python = names.stream().filter(n -> n.endsWith(".py")).count();
    if (python == 0 || names.isEmpty()) {
      return Kind.FLYWAY;
    }
    if (python < names.size()) {
      String sql = names.stream().filter(n -> !n.endsWith(".py")).findFirst().orElseThrow();
      String py = names.stream().filter(n -> n.endsWith(".py")).findFirst().orElseThrow();
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, origin + " mixes Alembic revisions (" + printable(py)
          + ") with other migration files (" + printable(sql) + "); a set is either an Alembic versions folder or Flyway"
          + " SQL migrations");
    }
    names.stream().filter(n -> n.startsWith(CONTRACT_PREFIX)).findFirst().ifPresent(n -> {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, origin + " holds " + printable(n) + ": Alembic"
          + " reads no " + CONTRACT_PREFIX + " folder; mark a contract revision with lockstep_phase = \"contract\" at the"
          + " top of its module instead");
    });
    return Kind.ALEMBIC;
  }

  /**
   * Whether {@code name} is a plain file name of at most {@link #MAX_NAME_BYTES} bytes (no path, no control character),
   * or one in the contract folder: {@code contract/V7__drop_legacy_name.sql} ({@link MigrationsDigest#CONTRACT_FOLDER}).
   */
  public static boolean plainName(String name) {
    String file = name.startsWith(CONTRACT_PREFIX) ? name.substring(CONTRACT_PREFIX.length()) : name;
    return !file.isEmpty() && file.getBytes(StandardCharsets.UTF_8).length <= MAX_NAME_BYTES
        && file.chars().noneMatch(c -> c < 0x20 || c == 0x7f || c == '/' || c == '\\');
  }

  /** {@code contract/}: what a contract migration's name starts with. */
  public static final String CONTRACT_PREFIX = MigrationsDigest.CONTRACT_FOLDER + "/";

  private static void checkPlainName(String origin, String name) {
    if (!plainName(name)) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "file '" + printable(name) + "' in " + origin
          + " is not a plain file name of at most " + MAX_NAME_BYTES + " bytes (or one in " + CONTRACT_PREFIX + ")");
    }
  }

  /** Which tool's files this set holds. */
  public Kind kind() {
    return kind;
  }

  /**
   * @throws LockstepException UNPROCESSABLE when the set holds another tool's files than this coordinator's
   *     engine runs (an Alembic versions folder sent to a Flyway coordinator, or the reverse)
   */
  public void requireKind(Kind expected) {
    if (kind != expected && !files.isEmpty()) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, origin + " holds " + kind.describe
          + ", but this coordinator runs " + expected.engine + " (--engine " + expected.engine + "); send "
          + expected.describe + ", or run a coordinator with --engine " + kind.engine);
    }
  }

  private static String utf8(String origin, String name, byte[] content) {
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(content)).toString();
    } catch (CharacterCodingException e) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "migration file " + name + " in " + origin
          + " is not UTF-8; Lockstep reads migrations as UTF-8 only: convert it (iconv -t UTF-8)");
    }
  }

  /** {@code text} with control characters escaped and cut at 120 code points, for messages. */
  public static String printable(String text) {
    StringBuilder b = new StringBuilder();
    text.codePoints().limit(120).forEach(c -> {
      if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\u%04x", c));
      } else {
        b.appendCodePoint(c);
      }
    });
    return b.toString();
  }

  /** Where the files come from, for messages. */
  public String origin() {
    return origin;
  }

  /** The set's digest: {@link MigrationsDigest} over its file names and bytes. */
  public String digest() {
    return digest;
  }

  /** The SHA-256 of file {@code name}'s bytes (hex), which addresses its content in the store; null if there is no such file. */
  public String sha256(String name) {
    return sha256.get(name);
  }

  /** File name → content. */
  public SortedMap<String, String> files() {
    return Collections.unmodifiableSortedMap(files);
  }

  /** File name → bytes, exactly as read or uploaded (UTF-8 survives the round trip through text unchanged). */
  public SortedMap<String, byte[]> bytes() {
    SortedMap<String, byte[]> bytes = new TreeMap<>();
    files.forEach((name, content) -> bytes.put(name, content.getBytes(StandardCharsets.UTF_8)));
    return bytes;
  }

  /** A set with no files, for views that have no set to compare with. */
  public static MigrationSet empty(String origin) {
    return of(origin, new TreeMap<>());
  }

  /** The same files, described as coming from {@code origin}. */
  public MigrationSet from(String origin) {
    return new MigrationSet(origin, kind, files, digest, sha256);
  }
}
