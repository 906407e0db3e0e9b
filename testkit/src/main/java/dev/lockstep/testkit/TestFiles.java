package dev.lockstep.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Folder trees for tests: a project copied out of the test resources so a test may change it.
 *
 * <pre>{@code Path project = TestFiles.copyTree(Path.of("src/test/resources/alembic/shop"), dir.resolve("shop"));}</pre>
 */
public final class TestFiles {
  private TestFiles() {}

  /** Copies {@code source} and everything under it to {@code target}, replacing what was there; returns it. */
  public static Path copyTree(Path source, Path target) {
    try {
      if (Files.exists(target)) {
        try (Stream<Path> old = Files.walk(target)) {
          for (Path p : old.sorted(Comparator.reverseOrder()).toList()) {
            Files.delete(p);
          }
        }
      }
      try (Stream<Path> files = Files.walk(source)) {
        for (Path p : files.toList()) {
          Path t = target.resolve(source.relativize(p).toString());
          if (Files.isDirectory(p)) {
            Files.createDirectories(t);
          } else {
            Files.copy(p, t);
          }
        }
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + source + " to " + target, e);
    }
  }
}
