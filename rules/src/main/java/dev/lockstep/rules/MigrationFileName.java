package dev.lockstep.rules;

import dev.lockstep.protocol.MigrationsDigest;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationVersion;

/**
 * A Flyway SQL migration's file name, read the one way Lockstep reads it: {@code V<version>__<description>.sql}
 * (a versioned migration), {@code U<version>__<description>.sql} (its undo script), {@code R__<description>.sql}
 * (a repeatable migration), each possibly followed by {@code .conf} (Flyway's per-script config file). The
 * version is the longest run of digits, dots and underscores, starting with a digit, that still leaves
 * {@code __} and a description before {@code .sql}; the description is never empty. Whether a parsed name is one
 * a release may carry (Lockstep refuses repeatable migrations and versions Flyway cannot read) is the caller's.
 *
 * <pre>{@code
 * MigrationFileName name = MigrationFileName.parse("V1_1__add_email.sql").orElseThrow();
 * name.kind();          // VERSIONED
 * name.version();       // Flyway's MigrationVersion 1.1, equal to that of "V1.1__…" and "V1.10__…" > "V1.9__…"
 * name.description();   // "add email"
 * MigrationFileName.parse("V1_1__add_email.sql.conf").orElseThrow().config();   // true
 * MigrationFileName.parse("README.md");                                          // empty
 * }</pre>
 *
 * @param name the file name parsed, e.g. {@code V1_1__add_email.sql.conf}
 * @param versionText the version as written, e.g. {@code 1_1}; null for a name without one ({@code R__…})
 * @param description underscores read as spaces, e.g. {@code add email}
 * @param config a {@code .sql.conf} file, the config of the script {@link #script()} names
 */
public record MigrationFileName(String name, Kind kind, String versionText, String description, boolean config) {
  private static final Pattern SCRIPT = Pattern.compile("([VUR])([0-9][0-9._]*)?__(.+)\\.sql");
  private static final String CONFIG = ".conf";
  private static final String CONTRACT = MigrationsDigest.CONTRACT_FOLDER + "/";

  /** The three kinds of Flyway SQL script, by their prefix. */
  public enum Kind {
    VERSIONED('V'), UNDO('U'), REPEATABLE('R');

    private final char prefix;

    Kind(char prefix) {
      this.prefix = prefix;
    }

    public char prefix() {
      return prefix;
    }

    static Kind of(char prefix) {
      for (Kind kind : values()) {
        if (kind.prefix == prefix) {
          return kind;
        }
      }
      throw new IllegalArgumentException("no migration kind has the prefix " + prefix);
    }
  }

  /**
   * {@code fileName} read as a migration's name (only the name: no folder in front, but for {@code contract/}, which
   * marks a contract migration); empty if it is not one.
   */
  public static Optional<MigrationFileName> parse(String fileName) {
    boolean config = fileName.endsWith(".sql" + CONFIG);
    String named = fileName.startsWith(CONTRACT) ? fileName.substring(CONTRACT.length()) : fileName;
    String script = config ? named.substring(0, named.length() - CONFIG.length()) : named;
    Matcher matcher = SCRIPT.matcher(script);
    if (!matcher.matches()) {
      return Optional.empty();
    }
    return Optional.of(new MigrationFileName(fileName, Kind.of(matcher.group(1).charAt(0)), matcher.group(2),
        matcher.group(3).replace('_', ' '), config));
  }

  /**
   * The version as Flyway reads and compares it ({@code 1_1} is {@code 1.1}, {@code 1.0} equals {@code 1}); null
   * for a name without one.
   *
   * @throws FlywayException when Flyway cannot read {@link #versionText()} as a version, e.g. {@code 1..2} or {@code 1_}
   */
  public MigrationVersion version() {
    return versionText == null ? null : MigrationVersion.fromVersion(versionText);
  }

  /** Whether this is a versioned migration's script ({@code V…sql}, not its {@code .conf}) whose version Flyway reads. */
  public boolean versionedScript() {
    if (kind != Kind.VERSIONED || config || versionText == null) {
      return false;
    }
    try {
      version();
      return true;
    } catch (FlywayException e) {
      return false;
    }
  }

  /** Whether it is in the {@code contract/} folder: a migration that runs after the switch, once old code is gone. */
  public boolean contract() {
    return name.startsWith(CONTRACT);
  }

  /** The script's file name: the name itself, or for a {@code .sql.conf} the name of the script it configures. */
  public String script() {
    return config ? name.substring(0, name.length() - CONFIG.length()) : name;
  }
}
