package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.AlembicCorpus;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A rollout of a real Alembic chain in readiness mode: the coordinator runs {@code --engine alembic} on PowerDNS-Admin's
 * 22 revisions (the corpus the suite ships), and each image's pods carry their own {@code versions/} folder. Pods of v1
 * carry the first eleven revisions and v1 is released with the set taken from them; pods of v2 carry all 22 and v2 is
 * released the same way ({@code release --migrations-from agents}), the pods switching together as a {@link Kubelet}
 * sees it, and the database ending at the chain's head — what Open WebUI's operators run instead of scaling down to one
 * replica so that one pod migrates.
 */
class AlembicRolloutIT {
  private static final Pattern REVISION = Pattern.compile("(?m)^revision\\s*=\\s*['\"]([0-9a-f]+)['\"]");
  private static final Pattern DOWN_REVISION = Pattern.compile("(?m)^down_revision\\s*=\\s*(?:['\"]([0-9a-f]+)['\"]|None)");

  private static TestDatabase db;
  private static Fleet fleet;
  private static Pods pods;
  private static Path project;

  @BeforeAll
  static void start() {
    project = TestFiles.copyTree(AlembicCorpus.folder("powerdns-admin"),
        Path.of("target", "e2e", "AlembicRolloutIT-project").toAbsolutePath());
    pods = Pods.start("AlembicRolloutIT", "--engine", "alembic", "--alembic-config", project.resolve("alembic.ini").toString());
    fleet = pods.fleet;
    db = pods.database();
  }

  @AfterAll
  static void stop() {
    if (pods != null) {
      pods.close();
    }
  }

  @Test
  void theNewPodsCarryTheChainAndSwitchTogetherOnceItIsApplied() {
    List<Path> chain = chain(project.resolve("migrations").resolve("versions"));
    assertThat(chain).hasSize(22);
    List<String> first = pods.start("v1", image("v1", chain.subList(0, 11)), 3, 0);
    Fleet.CliRun run = fleet.cli("release", "--revision", "v1", "--migrations-from", "agents");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    pods.awaitEndpoints(first);
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo(revision(chain.get(10)));

    List<String> fresh = pods.start("v2", image("v2", chain), 3, 0);
    long begun = System.currentTimeMillis();
    run = fleet.cli("release", "--revision", "v2", "--migrations-from", "agents");
    assertThat(run.exit()).as(run.out() + run.err()).isZero();
    ReleaseDocument v2 = pods.last();
    assertThat(v2.applied()).hasSize(11);
    assertThat(v2.options().migrationsFrom()).isEqualTo("agents");
    Pods.Measured m = pods.checkRollout(v2, first, fresh, begun);
    System.out.println("AlembicRolloutIT " + m);
    assertThat(db.queryText("SELECT version_num FROM alembic_version")).isEqualTo("f4a5b6c7d8e9");
  }

  /** The folder an image of {@code revision} carries: these revision files, as its {@code versions/}. */
  private static Path image(String revision, List<Path> files) {
    Path folder = fleet.dir.resolve("image-" + revision).resolve("versions");
    try {
      Files.createDirectories(folder);
      for (Path file : files) {
        Files.copy(file, folder.resolve(file.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return folder;
  }

  /**
   * The revision files of a linear chain, oldest first, by their {@code revision} and {@code down_revision} lines
   * (read here only to cut the chain in two for the test; the coordinator reads the graph from {@code alembic history}).
   */
  private static List<Path> chain(Path versions) {
    Map<String, Path> byDown = new HashMap<>();
    try (var files = Files.list(versions)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".py")).toList()) {
        Matcher down = DOWN_REVISION.matcher(Files.readString(file));
        assertThat(down.find()).as("down_revision in %s", file).isTrue();
        byDown.put(down.group(1) == null ? "" : down.group(1), file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<Path> chain = new ArrayList<>();
    for (Path next = byDown.get(""); next != null; next = byDown.get(revision(next))) {
      chain.add(next);
    }
    return chain;
  }

  private static String revision(Path file) {
    try {
      Matcher m = REVISION.matcher(Files.readString(file));
      assertThat(m.find()).as("revision in %s", file).isTrue();
      return m.group(1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
