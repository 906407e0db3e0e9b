package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.protocol.MigrationsDigest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationVersion;

/**
 * The migration files a release runs: {@code V<version>__<description>.sql} migrations, their
 * {@code U<version>__….sql} undo scripts and Flyway's per-script config files ({@code ….sql.conf}), by
 * file name. Versions are Flyway's {@link MigrationVersion}s, so {@code V1_1} and {@code V1.1} are one
 * version and {@code 1.10} is above {@code 1.9}.
 *
 * <p>A set is what a release carries: built from a folder or an upload by {@link #of}, which refuses
 * anything that is not a well-formed set (naming the file), and identified by its {@link #digest()},
 * the same function agents compute over the folder they staged.
 *
 * <pre>{@code MigrationSet set = MigrationSet.read(Path.of("db/migrations"));
 * String digest = set.digest();                      // as MigrationsDigest.of(folder)
 * List<PendingMigration> all = set.versioned();      // oldest first
 * PendingMigration undo = set.undo().get(MigrationVersion.fromVersion("7"));}</pre>
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

  private static final Pattern NAME = Pattern.compile("([VUR])([0-9][0-9._]*)?__(.+)\\.sql");
  private static final int MAX_NAME_BYTES = 255;

  private final String origin;
  private final Kind kind;
  private final SortedMap<String, String> files;
  private final String digest;
  private final Map<String, String> sha256;
  // Derived once: a set never changes, and planning asks for migrations by version many times.
  private final List<PendingMigration> versioned;
  private final Map<MigrationVersion, PendingMigration> byVersion = new HashMap<>();
  private final Map<MigrationVersion, PendingMigration> undo = new HashMap<>();

  private MigrationSet(String origin, Kind kind, SortedMap<String, String> files, String digest, Map<String, String> sha256) {
    this.origin = origin;
    this.kind = kind;
    this.files = files;
    this.digest = digest;
    this.sha256 = sha256;
    if (kind == Kind.ALEMBIC) {
      this.versioned = List.of(); // Alembic's own graph orders revisions: the engine asks `alembic history`
      return;
    }
    this.versioned = scripts('V');
    versioned.forEach(m -> byVersion.put(MigrationVersion.fromVersion(m.version()), m));
    scripts('U').forEach(m -> undo.put(MigrationVersion.fromVersion(m.version()), m));
  }

  /** The files of {@code folder} and its subfolders that Flyway would read ({@code .sql} and {@code .sql.conf}), checked by {@link #of}. */
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
   * A set from file name → bytes, checked whole: every name a {@code V…}/{@code U…} migration (or its
   * {@code .sql.conf}), every file UTF-8, no version twice, no undo script without its migration, no config
   * file without its script, every config readable.
   *
   * @param origin where the files come from, for messages ("the migrations folder /srv/m", "the uploaded set")
   * @throws LockstepException UNPROCESSABLE naming the file, for anything a release could not run
   */
  public static MigrationSet of(String origin, SortedMap<String, byte[]> bytes) {
    Kind kind = kindOf(origin, bytes.keySet());
    SortedMap<String, String> files = new TreeMap<>();
    Map<String, String> sha256 = new HashMap<>();
    for (Map.Entry<String, byte[]> file : bytes.entrySet()) {
      if (kind == Kind.ALEMBIC) {
        checkPlainName(origin, file.getKey());
      } else {
        checkName(origin, file.getKey());
      }
      files.put(file.getKey(), utf8(origin, file.getKey(), file.getValue()));
      sha256.put(file.getKey(), MigrationsDigest.sha256(file.getValue()));
    }
    MigrationSet set = new MigrationSet(origin, kind, files, MigrationsDigest.of(bytes), sha256);
    if (kind == Kind.FLYWAY) {
      set.check();
    }
    return set;
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
    return Kind.ALEMBIC;
  }

  private static void checkPlainName(String origin, String name) {
    boolean plain = !name.isEmpty() && name.getBytes(StandardCharsets.UTF_8).length <= MAX_NAME_BYTES
        && name.chars().noneMatch(c -> c < 0x20 || c == 0x7f || c == '/' || c == '\\');
    if (!plain) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "file '" + printable(name) + "' in " + origin
          + " is not a plain file name of at most " + MAX_NAME_BYTES + " bytes");
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

  // The constructor read every script's name, version and config file, and refused a version twice.
  private void check() {
    for (Map.Entry<MigrationVersion, PendingMigration> u : undo.entrySet()) {
      if (migration(u.getKey()) == null) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "undo script " + u.getValue().script() + " in "
            + origin + " has no migration V" + u.getKey() + "__….sql to undo; add it or remove the undo script");
      }
    }
    for (String name : files.keySet()) {
      if (name.endsWith(".sql.conf") && !files.containsKey(name.substring(0, name.length() - ".conf".length()))) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "config file " + name + " in " + origin
            + " has no script " + name.substring(0, name.length() - ".conf".length()) + " beside it; add it or remove the config file");
      }
    }
  }

  private static void checkName(String origin, String name) {
    String script = name.endsWith(".sql.conf") ? name.substring(0, name.length() - ".conf".length()) : name;
    Matcher m = NAME.matcher(script);
    boolean plain = !name.isEmpty() && name.getBytes(StandardCharsets.UTF_8).length <= MAX_NAME_BYTES
        && name.chars().noneMatch(c -> c < 0x20 || c == 0x7f || c == '/' || c == '\\');
    if (!plain || !m.matches() || m.group(1).equals("R") || m.group(2) == null) {
      String why = plain && m.matches() && m.group(1).equals("R")
          ? "repeatable (R__…) migrations are not supported; use versioned V… migrations"
          : "a migration file is named V<version>__<description>.sql or U<version>__<description>.sql (or that name"
              + " followed by .conf), a plain file name of at most " + MAX_NAME_BYTES + " bytes";
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "file '" + printable(name) + "' in " + origin
          + " is not a migration file: " + why);
    }
    version(name, m.group(2));
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

  private static String printable(String text) {
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
    return java.util.Collections.unmodifiableSortedMap(files);
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

  /**
   * Writes the files into a new temporary folder, for a reader that only knows folders (the
   * failed-migration rule compares Flyway's checksums with one); the caller deletes it. Flyway itself
   * never reads it: it gets the set through {@link SetResolver}.
   */
  public Path materialise() throws IOException {
    Path dir = java.nio.file.Files.createTempDirectory("lockstep-set-" + MigrationsDigest.shortForm(digest) + "-");
    for (Map.Entry<String, String> file : files.entrySet()) {
      java.nio.file.Files.writeString(dir.resolve(file.getKey()), file.getValue());
    }
    return dir;
  }

  /** Deletes a folder {@link #materialise} made. */
  public static void remove(Path materialised) throws IOException {
    try (var files = java.nio.file.Files.list(materialised)) {
      for (Path f : files.toList()) {
        java.nio.file.Files.delete(f);
      }
    }
    java.nio.file.Files.delete(materialised);
  }

  /** The same files, described as coming from {@code origin}. */
  public MigrationSet from(String origin) {
    return new MigrationSet(origin, kind, files, digest, sha256);
  }

  /** Every {@code V…} migration, oldest first. */
  public List<PendingMigration> versioned() {
    return versioned;
  }

  /** The newest {@code V…} version, or null if there is none. */
  public MigrationVersion newest() {
    return versioned.isEmpty() ? null : MigrationVersion.fromVersion(versioned.get(versioned.size() - 1).version());
  }

  /** The {@code V…} migration of {@code version}, or null. */
  public PendingMigration migration(MigrationVersion version) {
    return byVersion.get(version);
  }

  /** Each undo script by the version it takes away. */
  public Map<MigrationVersion, PendingMigration> undo() {
    return java.util.Collections.unmodifiableMap(undo);
  }

  private List<PendingMigration> scripts(char prefix) {
    List<PendingMigration> scripts = new ArrayList<>();
    for (Map.Entry<String, String> file : files.entrySet()) {
      Matcher name = NAME.matcher(file.getKey());
      if (!name.matches() || name.group(1).charAt(0) != prefix || name.group(2) == null) {
        continue;
      }
      MigrationVersion version = version(file.getKey(), name.group(2));
      scripts.add(new PendingMigration(version.getVersion(), name.group(3).replace('_', ' '), file.getKey(),
          file.getValue(), prefix == 'U', executeInTransaction(file.getKey() + ".conf")));
    }
    scripts.sort(Comparator.comparing(m -> MigrationVersion.fromVersion(m.version())));
    for (int i = 1; i < scripts.size(); i++) {
      if (MigrationVersion.fromVersion(scripts.get(i).version()).equals(MigrationVersion.fromVersion(scripts.get(i - 1).version()))) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "migrations " + scripts.get(i - 1).script() + " and "
            + scripts.get(i).script() + " in " + origin + " have the same version " + scripts.get(i).version() + "; renumber one");
      }
    }
    return List.copyOf(scripts);
  }

  private static MigrationVersion version(String file, String text) {
    try {
      return MigrationVersion.fromVersion(text);
    } catch (FlywayException e) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "migration file " + file + " has a version Flyway"
          + " cannot read (" + text + "): " + e.getMessage());
    }
  }

  /** Flyway's per-script config: {@code executeInTransaction=false} runs the script outside any transaction. */
  private boolean executeInTransaction(String confName) {
    String conf = files.get(confName);
    if (conf == null) {
      return true;
    }
    Properties props = new Properties();
    try {
      props.load(new java.io.StringReader(conf));
    } catch (IOException | IllegalArgumentException e) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "cannot read " + confName + ": " + e.getMessage());
    }
    for (String key : props.stringPropertyNames()) {
      if (!key.equals("executeInTransaction") && !key.equals("encoding")) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, confName + " sets " + key
            + ", which Lockstep does not support; only executeInTransaction (and encoding=UTF-8) are read");
      }
    }
    String encoding = props.getProperty("encoding", "UTF-8");
    if (!encoding.equalsIgnoreCase("UTF-8") && !encoding.equalsIgnoreCase("UTF8")) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, confName + " sets encoding=" + encoding
          + "; Lockstep reads migrations as UTF-8 only");
    }
    String value = props.getProperty("executeInTransaction", "true").trim();
    if (!value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false")) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, confName + " sets executeInTransaction=" + value
          + "; it must be true or false");
    }
    return Boolean.parseBoolean(value);
  }
}
