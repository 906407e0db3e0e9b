package dev.lockstep.coordinator.migration.alembic;

import dev.lockstep.coordinator.error.LockstepException;
import dev.lockstep.coordinator.set.MigrationSet;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * An Alembic project as {@code --alembic-config PATH/alembic.ini} names it: the ini file, its script folder
 * ({@code script_location}: {@code env.py}, {@code script.py.mako}) and the {@code versions} folder in it, which is
 * the project's default migration set. A release runs Alembic on a {@link Workspace}: a temporary copy of the
 * script folder whose {@code versions} are exactly the files of the set the release carries (so an uploaded set
 * runs as uploaded, never mixed with what the folder holds now), and a copy of the ini pointing at it.
 *
 * <pre>{@code AlembicProject project = AlembicProject.open(Path.of("/srv/app/alembic.ini"));
 * try (AlembicProject.Workspace ws = project.workspace(set)) { command.run(ws, "upgrade", "head"); }}</pre>
 */
public final class AlembicProject {
  private final Path ini;
  private final Path scripts;

  private AlembicProject(Path ini, Path scripts) {
    this.ini = ini;
    this.scripts = scripts;
  }

  /**
   * @throws LockstepException UNPROCESSABLE when the ini file, its {@code script_location} or its {@code versions}
   *     folder is missing, or it sets {@code version_locations} (not supported: one versions folder per project)
   */
  public static AlembicProject open(Path ini) {
    Path file = ini.toAbsolutePath().normalize();
    if (!Files.isRegularFile(file)) {
      throw unprocessable("Alembic config " + file + " does not exist; --alembic-config names the project's alembic.ini");
    }
    List<String> lines = read(file);
    String location = option(lines, "script_location");
    if (location == null) {
      throw unprocessable("Alembic config " + file + " has no script_location in its [alembic] section");
    }
    if (option(lines, "version_locations") != null) {
      throw unprocessable("Alembic config " + file + " sets version_locations; Lockstep runs one versions folder per"
          + " project (script_location/versions): remove version_locations, or keep its revisions in that folder");
    }
    Path here = file.getParent();
    Path scripts = here.resolve(location.replace("%(here)s", here.toString())).normalize();
    if (!Files.isRegularFile(scripts.resolve("env.py"))) {
      throw unprocessable("Alembic's script_location " + scripts + " (from " + file + ") holds no env.py");
    }
    return new AlembicProject(file, scripts);
  }

  public Path ini() {
    return ini;
  }

  /** The folder the operator runs {@code alembic} from: the ini's, so relative paths in it mean what they mean there. */
  public Path directory() {
    return ini.getParent();
  }

  /**
   * Whether env.py mentions {@code version_table} (Alembic's {@code version_table}/{@code version_table_schema}
   * options): then its revisions may be in a table other than {@code alembic_version}, which Lockstep cannot read
   * with SQL reliably, so it asks {@code alembic current}.
   */
  public boolean namesVersionTable() {
    try {
      return Files.readString(scripts.resolve("env.py")).contains("version_table");
    } catch (IOException e) {
      return true; // unreadable now: the safe answer
    }
  }

  /** The project's {@code versions} folder: the default set of a release that uploads none. */
  public Path versions() {
    return scripts.resolve("versions");
  }

  /** The versions folder as it is now, as a set. */
  public MigrationSet folderSet() {
    if (!Files.isDirectory(versions())) {
      throw unprocessable("Alembic's versions folder " + versions() + " does not exist");
    }
    MigrationSet set = MigrationSet.read(versions());
    if (set.kind() != MigrationSet.Kind.ALEMBIC && !set.files().isEmpty()) {
      throw unprocessable("Alembic's versions folder " + versions() + " holds no .py revisions");
    }
    return set;
  }

  /** A temporary copy of the project running {@code set}'s revisions; close it to delete it. */
  public Workspace workspace(MigrationSet set) {
    try {
      Path root = Files.createTempDirectory("lockstep-alembic-");
      Path copy = root.resolve("scripts");
      try (Stream<Path> files = Files.walk(scripts)) {
        for (Path source : files.toList()) {
          Path relative = scripts.relativize(source);
          if (relative.startsWith("versions") || relative.toString().contains("__pycache__")) {
            continue;
          }
          Path target = copy.resolve(relative.toString());
          if (Files.isDirectory(source)) {
            Files.createDirectories(target);
          } else {
            Files.copy(source, target);
          }
        }
      }
      Path versions = Files.createDirectories(copy.resolve("versions"));
      for (Map.Entry<String, byte[]> file : set.bytes().entrySet()) {
        Files.write(versions.resolve(file.getKey()), file.getValue());
      }
      Path config = root.resolve("alembic.ini");
      Files.write(config, rewritten(read(ini), copy, directory()));
      return new Workspace(root, config, directory(), set);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare a copy of the Alembic project " + ini + ": " + e.getMessage(), e);
    }
  }

  /** The ini with {@code script_location} pointing at the copy, and {@code %(here)s} meaning the original folder. */
  static List<String> rewritten(List<String> lines, Path scripts, Path here) {
    List<String> out = new ArrayList<>();
    String section = "";
    for (String line : lines) {
      String trimmed = line.trim();
      if (trimmed.startsWith("[") && trimmed.endsWith("]")) {
        section = trimmed;
      }
      if (section.equals("[alembic]") && key(trimmed).equals("script_location")) {
        out.add("script_location = " + scripts.toString().replace("%", "%%"));
      } else {
        out.add(line.replace("%(here)s", here.toString().replace("%", "%%")));
      }
    }
    return out;
  }

  private static String option(List<String> lines, String name) {
    String section = "";
    for (String line : lines) {
      String trimmed = line.trim();
      if (trimmed.startsWith("[") && trimmed.endsWith("]")) {
        section = trimmed;
      } else if (section.equals("[alembic]") && key(trimmed).equals(name)) {
        int eq = Math.max(trimmed.indexOf('='), -1);
        int colon = trimmed.indexOf(':');
        int split = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
        return trimmed.substring(split + 1).trim();
      }
    }
    return null;
  }

  private static String key(String trimmed) {
    if (trimmed.startsWith("#") || trimmed.startsWith(";")) {
      return "";
    }
    int eq = trimmed.indexOf('=');
    int colon = trimmed.indexOf(':');
    int split = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
    return split < 0 ? "" : trimmed.substring(0, split).trim();
  }

  private static List<String> read(Path file) {
    try {
      return Files.readAllLines(file);
    } catch (IOException e) {
      throw unprocessable("cannot read Alembic config " + file + ": " + e.getMessage());
    }
  }

  private static LockstepException unprocessable(String message) {
    return new LockstepException(LockstepException.Code.UNPROCESSABLE, message);
  }

  /** A temporary copy of the project running {@code set}; {@link #close} deletes it. */
  public record Workspace(Path root, Path ini, Path directory, MigrationSet set) implements AutoCloseable {
    public String digest() {
      return set.digest();
    }

    @Override
    public void close() {
      try (Stream<Path> files = Files.walk(root)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      } catch (IOException e) {
        // A temporary folder left behind is harmless; the next release uses its own.
      }
    }
  }
}
