package dev.lockstep.coordinator.migration.alembic;

import dev.lockstep.coordinator.config.DatabaseUrl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The environment Alembic's {@code env.py} runs with: the application's variables ({@code --engine-env KEY=VALUE},
 * {@code --engine-env-file FILE}, the later winning) and {@code DATABASE_URL}, which is always the database
 * Lockstep migrates and fences: a {@code DATABASE_URL} given with {@code --engine-env} would point the migration
 * elsewhere, so it is refused; one in the env file (an application's {@code .env} usually has it) is ignored with a
 * warning.
 *
 * <pre>{@code Map<String, String> env = AlembicEnvironment.of(database, List.of("WEBUI_SECRET_KEY=s3cret"), null);}</pre>
 */
public final class AlembicEnvironment {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(AlembicEnvironment.class);
  private AlembicEnvironment() {}

  /**
   * @throws IllegalArgumentException naming the entry or the file line that is not {@code KEY=VALUE}, an unreadable
   *     file, or a {@code DATABASE_URL} among them (a configuration error: the coordinator exits 2)
   */
  public static Map<String, String> of(DatabaseUrl database, List<String> entries, Path file) {
    Map<String, String> env = new LinkedHashMap<>();
    if (file != null) {
      List<String> lines;
      try {
        lines = Files.readAllLines(file);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read --engine-env-file " + file + ": " + e.getMessage());
      }
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i).strip();
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        String entry = line.startsWith("export ") ? line.substring(7).strip() : line;
        if (entry.startsWith("DATABASE_URL=")) {
          // The application's own .env usually names its database: Lockstep's --database-url wins, said once.
          LOG.warn("{} line {} sets DATABASE_URL; ignored: Alembic runs against --database-url, the database Lockstep"
              + " migrates and fences", file, i + 1);
          continue;
        }
        put(env, entry, file + " line " + (i + 1));
      }
    }
    for (String entry : entries) {
      put(env, entry, "--engine-env " + entry.split("=", 2)[0]);
    }
    env.put("DATABASE_URL", sqlalchemyUrl(database));
    return env;
  }

  private static void put(Map<String, String> env, String entry, String where) {
    int eq = entry.indexOf('=');
    if (eq <= 0 || !entry.substring(0, eq).matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw new IllegalArgumentException(where + " is not KEY=VALUE (a variable name, '=', its value)");
    }
    String key = entry.substring(0, eq);
    if (key.equals("DATABASE_URL")) {
      throw new IllegalArgumentException(where + " sets DATABASE_URL; Lockstep gives Alembic the database it migrates"
          + " and fences (--database-url), so leave DATABASE_URL out of the engine's environment");
    }
    String value = entry.substring(eq + 1);
    if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"") || value.startsWith("'") && value.endsWith("'"))) {
      value = value.substring(1, value.length() - 1);
    }
    env.put(key, value);
  }

  /** The database as SQLAlchemy reads it: a libpq URL ({@code postgresql://user:password@host:port/db?sslmode=…}). */
  public static String sqlalchemyUrl(DatabaseUrl database) {
    return database.libpqUrl();
  }
}
