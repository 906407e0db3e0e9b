package dev.lockstep.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Real projects' migration chains, shipped in this jar (from {@code shared/corpora}, with their source
 * and license), so a test can feed the product what real users write. Each corpus lists its files in
 * an {@code index.txt}, since a folder inside a jar cannot be listed portably.
 *
 * <pre>{@code Path folder = TestCorpus.copy("reportportal", tempDir);   // V0__extensions.sql … U1002__….sql}</pre>
 */
public final class TestCorpus {
  private TestCorpus() {}

  /** Copies the files of corpus {@code name} (migrations, LICENSE, SOURCE.md) into {@code target}; returns it. */
  public static Path copy(String name, Path target) {
    try {
      Files.createDirectories(target);
      for (String file : files(name)) {
        try (InputStream in = open(name, file)) {
          Files.copy(in, target.resolve(file));
        }
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy corpus " + name + " to " + target, e);
    }
  }

  /** The file names of corpus {@code name}, as its index lists them. */
  public static List<String> files(String name) {
    try (InputStream index = open(name, "index.txt")) {
      return new String(index.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the index of corpus " + name, e);
    }
  }

  private static InputStream open(String name, String file) throws IOException {
    InputStream in = TestCorpus.class.getResourceAsStream("/corpora/" + name + "/" + file);
    if (in == null) {
      throw new IOException("corpus " + name + " has no file " + file + " on the classpath");
    }
    return in;
  }
}
