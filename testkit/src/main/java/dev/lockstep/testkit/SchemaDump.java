package dev.lockstep.testkit;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A database's schema as {@code pg_dump --schema-only --no-owner --no-privileges} prints it, normalized so that
 * two dumps of equal schemas are equal strings: no comments, no blank lines, no {@code SET} or
 * {@code SELECT pg_catalog.set_config(…)} lines, and none of the {@code &#92;restrict}/{@code &#92;unrestrict} lines newer
 * pg_dump prints (they carry a random key). Nothing in it names the database, so a copy compares equal to its source.
 *
 * <pre>{@code
 * assertThat(SchemaDump.of(clone)).isEqualTo(SchemaDump.of(live));
 * // Without Lockstep's own objects (schema lockstep, triggers named lockstep_…):
 * assertThat(SchemaDump.of(db, SchemaDump.Exclusions.LOCKSTEP)).isEqualTo(SchemaDump.of(plainAlembic));
 * }</pre>
 *
 * <p>Runs the {@code pg_dump} on the PATH, whose major version must be at least the server's.
 */
public final class SchemaDump {
  private static final long TIMEOUT_SECONDS = 120;

  private SchemaDump() {}

  /**
   * What to leave out of a dump, by name.
   *
   * @param schemas schemas left out whole ({@code --exclude-schema}; pg_dump patterns)
   * @param tables tables left out ({@code --exclude-table}; pg_dump patterns such as {@code public.flyway_schema_history})
   * @param triggerPrefixes {@code CREATE TRIGGER} statements whose trigger name starts with one of these are dropped:
   *     a trigger lives with its table, so excluding the schema of its function does not leave it out
   */
  public record Exclusions(List<String> schemas, List<String> tables, List<String> triggerPrefixes) {
    /** Leaves out nothing. */
    public static final Exclusions NONE = new Exclusions(List.of(), List.of(), List.of());
    /**
     * Leaves out Lockstep's own objects: schema {@code lockstep} (its tables and functions such as
     * {@code lockstep.alembic_fence_check()}) and triggers named {@code lockstep_…} on the application's tables
     * (the fence check on {@code alembic_version}).
     */
    public static final Exclusions LOCKSTEP = NONE.schema("lockstep").triggersStartingWith("lockstep_");

    public Exclusions {
      schemas = List.copyOf(schemas);
      tables = List.copyOf(tables);
      triggerPrefixes = List.copyOf(triggerPrefixes);
    }

    public Exclusions schema(String pattern) {
      return new Exclusions(plus(schemas, pattern), tables, triggerPrefixes);
    }

    public Exclusions table(String pattern) {
      return new Exclusions(schemas, plus(tables, pattern), triggerPrefixes);
    }

    public Exclusions triggersStartingWith(String prefix) {
      return new Exclusions(schemas, tables, plus(triggerPrefixes, prefix));
    }

    private static List<String> plus(List<String> list, String item) {
      return Stream.concat(list.stream(), Stream.of(item)).toList();
    }
  }

  /** The normalized schema of {@code db}. */
  public static String of(TestDatabase db) {
    return of(db, Exclusions.NONE);
  }

  public static String of(TestDatabase db, Exclusions exclusions) {
    return dump(Target.of(db), exclusions);
  }

  /** The normalized schema of the database at {@code postgresUrl} ({@code postgresql://user[:password]@host:port/db}). */
  public static String of(String postgresUrl) {
    return of(postgresUrl, Exclusions.NONE);
  }

  public static String of(String postgresUrl, Exclusions exclusions) {
    return dump(Target.parse(postgresUrl), exclusions);
  }

  /** {@code dump} without the lines that differ between equal schemas and without the excluded triggers. */
  static String normalize(String dump, Exclusions exclusions) {
    List<String> kept = new ArrayList<>();
    boolean inExcludedStatement = false;
    for (String line : dump.split("\n", -1)) {
      if (inExcludedStatement) {
        inExcludedStatement = !line.stripTrailing().endsWith(";");
        continue;
      }
      if (line.isBlank() || line.startsWith("--") || line.startsWith("SET ") || line.startsWith("SELECT pg_catalog.set_config(")
          || line.startsWith("\\restrict") || line.startsWith("\\unrestrict")) {
        continue;
      }
      if (excludedTrigger(line, exclusions)) {
        inExcludedStatement = !line.stripTrailing().endsWith(";");
        continue;
      }
      kept.add(line.stripTrailing());
    }
    return String.join("\n", kept);
  }

  private static boolean excludedTrigger(String line, Exclusions exclusions) {
    for (String keyword : List.of("CREATE TRIGGER ", "CREATE CONSTRAINT TRIGGER ")) {
      if (line.startsWith(keyword)) {
        String name = line.substring(keyword.length());
        return exclusions.triggerPrefixes().stream().anyMatch(name::startsWith);
      }
    }
    return false;
  }

  private static String dump(Target target, Exclusions exclusions) {
    List<String> command = new ArrayList<>(List.of("pg_dump", "--schema-only", "--no-owner", "--no-privileges"));
    exclusions.schemas().forEach(s -> command.add("--exclude-schema=" + s));
    exclusions.tables().forEach(t -> command.add("--exclude-table=" + t));
    // The connection goes through the environment: a password must not be in an argument list, which ps shows.
    command.add("--host=" + target.host());
    command.add("--port=" + target.port());
    command.add("--username=" + target.user());
    command.add("--dbname=" + target.database());
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("schema-dump-", ".sql");
      err = Files.createTempFile("schema-dump-", ".err");
      ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
      builder.environment().keySet().removeIf(k -> k.startsWith("PG"));
      if (!target.password().isEmpty()) {
        builder.environment().put("PGPASSWORD", target.password());
      }
      Process process;
      try {
        process = builder.start();
      } catch (IOException e) {
        throw new IllegalStateException("cannot run pg_dump (" + e.getMessage() + "); install postgresql-client of the"
            + " server's major version or later", e);
      }
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException("pg_dump of " + target + " did not finish in " + TIMEOUT_SECONDS + " s");
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException("pg_dump of " + target + " exited " + process.exitValue() + ": "
            + Files.readString(err).strip());
      }
      return normalize(Files.readString(out), exclusions);
    } catch (IOException e) {
      throw new IllegalStateException("pg_dump of " + target + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while dumping " + target, e);
    } finally {
      deleteQuietly(out);
      deleteQuietly(err);
    }
  }

  private static void deleteQuietly(Path file) {
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // A temporary file; the OS cleans up.
      }
    }
  }

  /** Where to connect; {@link #toString()} leaves the password out. */
  private record Target(String host, int port, String user, String password, String database) {
    static Target of(TestDatabase db) {
      return parse(db.postgresUrl());
    }

    static Target parse(String postgresUrl) {
      URI uri;
      try {
        uri = new URI(postgresUrl.replaceFirst("^jdbc:", ""));
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("not a postgresql:// URL: " + postgresUrl.replaceAll(":[^:@/]*@", ":***@"), e);
      }
      String user = "postgres";
      String password = "";
      if (uri.getRawUserInfo() != null) {
        String info = uri.getRawUserInfo();
        int colon = info.indexOf(':');
        user = decode(colon < 0 ? info : info.substring(0, colon));
        password = colon < 0 ? "" : decode(info.substring(colon + 1));
      }
      String database = uri.getPath() == null ? "" : uri.getPath().replaceFirst("^/", "");
      String host = uri.getHost() == null ? "localhost" : uri.getHost().replaceAll("^\\[|]$", "");
      return new Target(host, uri.getPort() < 0 ? 5432 : uri.getPort(), user, password, decode(database));
    }

    private static String decode(String s) {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
      return "postgresql://" + user + "@" + host + ":" + port + "/" + database;
    }
  }
}
