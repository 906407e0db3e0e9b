package dev.lockstep.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Real projects' Alembic chains in the shared corpus folder ({@code shared/corpora/alembic/<name>}, each with its
 * {@code alembic.ini}, {@code migrations/} and {@code SOURCE.md}). Unlike {@link TestCorpus} they are not copied into
 * this jar: an Alembic project is a folder tree that the {@code alembic} command runs from, and the folder is
 * read-only, so tests open it in place ({@code AlembicProject.open} copies what it runs). The folder is found from the
 * system property {@code lockstep.corpora} if set, else by walking up from the working directory to a
 * {@code shared/corpora} folder (a module runs its tests from {@code <repo>/<module>}, beside {@code ../shared}).
 *
 * <pre>{@code Path ini = AlembicCorpus.ini("osparc-simcore");   // …/shared/corpora/alembic/osparc-simcore/alembic.ini}</pre>
 */
public final class AlembicCorpus {
  private AlembicCorpus() {}

  /** The folder of chain {@code name}. */
  public static Path folder(String name) {
    Path folder = corpora().resolve("alembic").resolve(name);
    if (!Files.isRegularFile(folder.resolve("alembic.ini"))) {
      throw new IllegalStateException("Alembic corpus " + name + " has no alembic.ini in " + folder);
    }
    return folder;
  }

  /** The chain's {@code alembic.ini}. */
  public static Path ini(String name) {
    return folder(name).resolve("alembic.ini");
  }

  private static Path corpora() {
    String property = System.getProperty("lockstep.corpora");
    if (property != null && !property.isBlank()) {
      return Path.of(property).toAbsolutePath().normalize();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve("shared").resolve("corpora");
      if (Files.isDirectory(candidate.resolve("alembic"))) {
        return candidate;
      }
    }
    throw new IllegalStateException("no shared/corpora/alembic folder above " + Path.of("").toAbsolutePath()
        + "; set -Dlockstep.corpora=/path/to/shared/corpora");
  }
}
