package dev.lockstep.coordinator.migration;

import dev.lockstep.coordinator.LockstepException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
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
import java.util.stream.Stream;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationVersion;

/**
 * The migration files a release runs: {@code V<version>__<description>.sql} migrations, their
 * {@code U<version>__….sql} undo scripts and Flyway's per-script config files ({@code ….sql.conf}), by
 * file name. Versions are Flyway's {@link MigrationVersion}s, so {@code V1_1} and {@code V1.1} are one
 * version and {@code 1.10} is above {@code 1.9}.
 *
 * <pre>{@code MigrationSet set = MigrationSet.read(Path.of("db/migrations"));
 * List<PendingMigration> all = set.versioned();      // oldest first
 * PendingMigration undo = set.undo().get(MigrationVersion.fromVersion("7"));}</pre>
 */
public final class MigrationSet {
  private static final Pattern NAME = Pattern.compile("([VUR])([0-9][0-9._]*)?__(.+)\\.sql");

  private final String origin;
  private final SortedMap<String, String> files;

  /**
   * @param origin where the files come from, for messages (a folder, an uploaded set's digest)
   * @param files file name → content
   */
  public MigrationSet(String origin, Map<String, String> files) {
    this.origin = origin;
    this.files = new TreeMap<>(files);
  }

  /** The files of {@code folder} and its subfolders that Flyway would read: {@code .sql} and {@code .sql.conf}. */
  public static MigrationSet read(Path folder) {
    Map<String, String> files = new HashMap<>();
    Map<String, Path> seen = new HashMap<>();
    try (Stream<Path> walk = Files.walk(folder)) {
      for (Path file : walk.filter(Files::isRegularFile).sorted().toList()) {
        String name = file.getFileName().toString();
        if (!name.endsWith(".sql") && !name.endsWith(".sql.conf")) {
          continue;
        }
        Path earlier = seen.putIfAbsent(name, file);
        if (earlier != null) {
          throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "migration file " + name + " is in "
              + folder + " twice (" + folder.relativize(earlier) + " and " + folder.relativize(file) + "); keep one");
        }
        files.put(name, Files.readString(file));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read migrations folder " + folder + ": " + e.getMessage(), e);
    }
    return new MigrationSet(folder.toString(), files);
  }

  public String origin() {
    return origin;
  }

  public SortedMap<String, String> files() {
    return files;
  }

  /** Every {@code V…} migration, oldest first. */
  public List<PendingMigration> versioned() {
    return scripts('V');
  }

  /** The newest {@code V…} version, or null if there is none. */
  public MigrationVersion newest() {
    List<PendingMigration> all = versioned();
    return all.isEmpty() ? null : MigrationVersion.fromVersion(all.get(all.size() - 1).version());
  }

  /** The {@code V…} migration of {@code version}, or null. */
  public PendingMigration migration(MigrationVersion version) {
    return versioned().stream().filter(m -> MigrationVersion.fromVersion(m.version()).equals(version)).findFirst().orElse(null);
  }

  /** Each undo script by the version it takes away. */
  public Map<MigrationVersion, PendingMigration> undo() {
    Map<MigrationVersion, PendingMigration> undo = new HashMap<>();
    scripts('U').forEach(m -> undo.put(MigrationVersion.fromVersion(m.version()), m));
    return undo;
  }

  /** Repeatable ({@code R__…}) scripts, which Lockstep does not run: a release that has them is refused. */
  public List<String> repeatable() {
    return files.keySet().stream().filter(n -> n.startsWith("R__") && n.endsWith(".sql")).toList();
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
    return scripts;
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
