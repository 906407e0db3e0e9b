package dev.lockstep.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Real projects' Alembic chains (from {@code shared/corpora/alembic/<name>}, each with its {@code alembic.ini},
 * {@code migrations/}, {@code LICENSE} and {@code SOURCE.md}), shipped in this jar like {@link TestCorpus}'s, so
 * a clean clone runs them wherever it is. An Alembic project is a folder tree the {@code alembic} command runs
 * from, so the first use in a JVM extracts it, following its {@code index.txt} (relative paths), into a temporary
 * folder that tests open in place and must not change ({@code AlembicProject.open} copies what it runs). The
 * system property {@code lockstep.corpora} names another {@code corpora} folder to use instead.
 *
 * <pre>{@code Path ini = AlembicCorpus.ini("osparc-simcore");   // …/alembic/osparc-simcore/alembic.ini}</pre>
 */
public final class AlembicCorpus {
  private static final Map<String, Path> EXTRACTED = new HashMap<>();

  private AlembicCorpus() {}

  /** The folder of chain {@code name}. */
  public static synchronized Path folder(String name) {
    String property = System.getProperty("lockstep.corpora");
    Path folder = property != null && !property.isBlank()
        ? Path.of(property).toAbsolutePath().normalize().resolve("alembic").resolve(name)
        : EXTRACTED.computeIfAbsent(name, AlembicCorpus::extract);
    if (!Files.isRegularFile(folder.resolve("alembic.ini"))) {
      throw new IllegalStateException("Alembic corpus " + name + " has no alembic.ini in " + folder);
    }
    return folder;
  }

  /** The chain's {@code alembic.ini}. */
  public static Path ini(String name) {
    return folder(name).resolve("alembic.ini");
  }

  private static Path extract(String name) {
    String base = "/corpora/alembic/" + name + "/";
    try {
      Path target = Files.createTempDirectory("lockstep-corpus-" + name + "-");
      for (String file : lines(base + "index.txt")) {
        Path to = target.resolve(file);
        Files.createDirectories(to.getParent());
        try (InputStream in = open(base + file)) {
          Files.copy(in, to);
        }
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract Alembic corpus " + name, e);
    }
  }

  private static List<String> lines(String resource) throws IOException {
    try (InputStream in = open(resource)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
    }
  }

  private static InputStream open(String resource) throws IOException {
    InputStream in = AlembicCorpus.class.getResourceAsStream(resource);
    if (in == null) {
      throw new IOException("no resource " + resource + " in the testkit jar");
    }
    return in;
  }
}
