package dev.lockstep.coordinator.migration.flyway;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.migration.PendingMigration;
import dev.lockstep.coordinator.set.MigrationSet;
import dev.lockstep.rules.MigrationFileName;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationVersion;

/**
 * Flyway's view of a {@link MigrationSet}: {@code V<version>__<description>.sql} migrations, their {@code
 * U<version>__….sql} undo scripts and Flyway's per-script config files ({@code ….sql.conf}). Versions are Flyway's
 * {@link MigrationVersion}s, so {@code V1_1} and {@code V1.1} are one version and {@code 1.10} is above {@code 1.9}.
 * {@link #of} refuses anything that is not a well-formed set, naming the file.
 *
 * <pre>{@code FlywaySet flyway = FlywaySet.of(set);
 * List<PendingMigration> all = flyway.versioned();      // oldest first
 * PendingMigration undo = flyway.undo().get(MigrationVersion.fromVersion("7"));}</pre>
 */
public final class FlywaySet {
  private final MigrationSet set;
  // Derived once: a set never changes, and planning asks for migrations by version many times.
  private final List<PendingMigration> versioned;
  private final Map<MigrationVersion, PendingMigration> byVersion = new HashMap<>();
  private final Map<MigrationVersion, PendingMigration> undo = new HashMap<>();

  /** {@code same}'s migrations, named as {@code set} names them (the same digest: the same files). */
  private FlywaySet(MigrationSet set, FlywaySet same) {
    this.set = set;
    this.versioned = same.versioned;
    this.byVersion.putAll(same.byVersion);
    this.undo.putAll(same.undo);
  }

  private FlywaySet(MigrationSet set) {
    this.set = set;
    this.versioned = scripts(MigrationFileName.Kind.VERSIONED);
    versioned.forEach(m -> byVersion.put(MigrationVersion.fromVersion(m.version()), m));
    scripts(MigrationFileName.Kind.UNDO).forEach(m -> undo.put(MigrationVersion.fromVersion(m.version()), m));
  }

  /**
   * The Flyway view of {@code set}, checked whole: every name a {@code V…}/{@code U…} migration (or its {@code
   * .sql.conf}), no version twice, no undo script without its migration, no config file without its script, every
   * config readable.
   *
   * @throws LockstepException UNPROCESSABLE naming the file, for anything a release could not run
   */
  public static FlywaySet of(MigrationSet set) {
    String key = set.digest() + " " + set.origin();
    synchronized (VIEWS) {
      FlywaySet known = VIEWS.get(key);
      if (known != null) {
        return known;
      }
      // The same files under another name (the folder's set, then the same set as its release carries it): checked
      // and lexed already.
      for (FlywaySet same : VIEWS.values()) {
        if (same.set.digest().equals(set.digest())) {
          FlywaySet renamed = new FlywaySet(set, same);
          VIEWS.put(key, renamed);
          return renamed;
        }
      }
    }
    set.requireKind(MigrationSet.Kind.FLYWAY);
    set.files().keySet().forEach(name -> checkName(set.origin(), name));
    FlywaySet flyway = new FlywaySet(set);
    flyway.check();
    synchronized (VIEWS) {
      VIEWS.put(key, flyway);
    }
    return flyway;
  }

  /**
   * The last few views, by digest and origin: a release plans, configures Flyway and reads its history on the same set,
   * and each script is lexed once ({@link PendingMigration#statements}), not once per question.
   */
  private static final Map<String, FlywaySet> VIEWS = new java.util.LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, FlywaySet> eldest) {
      return size() > 8;
    }
  };

  /**
   * Reads a requested schema version the way Flyway does: {@code 1_1} and {@code 1.1} are one version, {@code 1.0}
   * equals {@code 1}, and {@code 1.10} is above {@code 1.9}. Every comparison of Flyway versions goes through {@link
   * MigrationVersion}, never through text.
   *
   * @throws LockstepException BAD_REQUEST naming the text if Flyway cannot read it as a version
   */
  public static MigrationVersion parseSchema(String text) {
    if (text == null || text.isBlank() || text.length() > 100 || !text.matches("[0-9][0-9._]*")) {
      throw LockstepException.badRequest("schema must be a migration version like 3, 1.2 or 1_2, or -N for N versions"
          + " down (got '" + text + "')");
    }
    try {
      return MigrationVersion.fromVersion(text);
    } catch (FlywayException e) {
      throw LockstepException.badRequest("schema '" + text + "' is not a Flyway version: " + e.getMessage());
    }
  }

  /** The files this is the view of. */
  public MigrationSet set() {
    return set;
  }

  private void check() {
    for (Map.Entry<MigrationVersion, PendingMigration> u : undo.entrySet()) {
      if (migration(u.getKey()) == null) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "undo script " + u.getValue().script() + " in "
            + set.origin() + " has no migration V" + u.getKey() + "__….sql to undo; add it or remove the undo script");
      }
    }
    for (String name : set.files().keySet()) {
      if (name.endsWith(".sql.conf") && !set.files().containsKey(name.substring(0, name.length() - ".conf".length()))) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "config file " + name + " in " + set.origin()
            + " has no script " + name.substring(0, name.length() - ".conf".length()) + " beside it; add it or remove the config file");
      }
    }
  }

  private static void checkName(String origin, String name) {
    Optional<MigrationFileName> parsed = MigrationFileName.parse(name);
    boolean plain = MigrationSet.plainName(name);
    boolean repeatable = parsed.isPresent() && parsed.get().kind() == MigrationFileName.Kind.REPEATABLE;
    if (!plain || parsed.isEmpty() || repeatable || parsed.get().versionText() == null) {
      String why = plain && repeatable
          ? "repeatable (R__…) migrations are not supported; use versioned V… migrations"
          : "a migration file is named V<version>__<description>.sql or U<version>__<description>.sql (or that name"
              + " followed by .conf), a plain file name of at most " + MigrationSet.MAX_NAME_BYTES + " bytes";
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "file '" + MigrationSet.printable(name) + "' in "
          + origin + " is not a migration file: " + why);
    }
    version(parsed.get());
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

  private List<PendingMigration> scripts(MigrationFileName.Kind kind) {
    List<PendingMigration> scripts = new ArrayList<>();
    for (Map.Entry<String, String> file : set.files().entrySet()) {
      MigrationFileName name = MigrationFileName.parse(file.getKey()).orElse(null);
      if (name == null || name.config() || name.kind() != kind || name.versionText() == null) {
        continue;
      }
      MigrationVersion version = version(name);
      scripts.add(new PendingMigration(version.getVersion(), name.description(), file.getKey(),
          file.getValue(), kind == MigrationFileName.Kind.UNDO, executeInTransaction(file.getKey() + ".conf"),
          name.contract() && kind == MigrationFileName.Kind.VERSIONED));
    }
    scripts.sort(Comparator.comparing(m -> MigrationVersion.fromVersion(m.version())));
    for (int i = 1; i < scripts.size(); i++) {
      if (MigrationVersion.fromVersion(scripts.get(i).version()).equals(MigrationVersion.fromVersion(scripts.get(i - 1).version()))) {
        throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "migrations " + scripts.get(i - 1).script() + " and "
            + scripts.get(i).script() + " in " + set.origin() + " have the same version " + scripts.get(i).version()
            + "; renumber one");
      }
    }
    return List.copyOf(scripts);
  }

  private static MigrationVersion version(MigrationFileName file) {
    try {
      return file.version();
    } catch (FlywayException e) {
      throw new LockstepException(LockstepException.Code.UNPROCESSABLE, "migration file " + file.name() + " has a version"
          + " Flyway cannot read (" + file.versionText() + "): " + e.getMessage());
    }
  }

  /** Flyway's per-script config: {@code executeInTransaction=false} runs the script outside any transaction. */
  private boolean executeInTransaction(String confName) {
    String conf = set.files().get(confName);
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
