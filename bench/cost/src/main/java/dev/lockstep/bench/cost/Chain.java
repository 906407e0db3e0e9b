package dev.lockstep.bench.cost;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;

/**
 * A migration chain the bench runs, ready on disk: a Flyway folder of {@code V…} files, or an Alembic project
 * ({@code alembic.ini} + {@code migrations/versions}). Real chains come from the corpora the suite ships
 * ({@code testkit/src/main/resources/corpora}); one is generated.
 *
 * @param name short name used in tables and JSON
 * @param tool flyway or alembic
 * @param folder the Flyway folder, or the Alembic project's root
 * @param migrations how many migrations (Flyway {@code V} files, Alembic revisions)
 * @param source where it comes from, for the report
 */
record Chain(String name, Tool tool, Path folder, int migrations, String source) {
  enum Tool { FLYWAY, ALEMBIC }

  /** The Alembic project's ini. */
  Path ini() {
    return folder.resolve("alembic.ini");
  }

  /** What an agent stages: the Flyway folder, or the Alembic project's versions folder. */
  Path staged() {
    return tool == Tool.FLYWAY ? folder : folder.resolve("migrations").resolve("versions");
  }

  /** ReportPortal's real chain (132 migrations), with V40 marked as Flyway marks a script that commits. */
  static Chain reportPortal(Path corpora, Path work) {
    Path target = fresh(work.resolve("reportportal"));
    try (var files = Files.list(corpora.resolve("reportportal"))) {
      for (Path p : files.filter(f -> f.getFileName().toString().matches("[VU][0-9]+__.*\\.sql")).toList()) {
        Files.copy(p, target.resolve(p.getFileName()));
      }
      // V40 is CALL of a procedure that COMMITs: plain Flyway and Lockstep both need it run outside a transaction.
      Files.writeString(target.resolve("V40__attachment_creation_date_fill.sql.conf"), "executeInTransaction=false\n");
      return new Chain("reportportal", Tool.FLYWAY, target, count(target, "V"),
          "ReportPortal migrations (real, Apache-2.0), testkit corpora/reportportal");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Chain generated(Path work, int n) {
    Path target = fresh(work.resolve("generated-" + n));
    GeneratedChain.write(target, n);
    return new Chain("generated-" + n, Tool.FLYWAY, target, n, "generated: tables, indexes, foreign keys, 500-row inserts, columns");
  }

  /** One of the Alembic corpora ({@code osparc-simcore}, {@code powerdns-admin}), copied so runs cannot change it. */
  static Chain alembic(Path corpora, Path work, String name) {
    Path target = fresh(work.resolve(name));
    copyTree(corpora.resolve("alembic").resolve(name), target);
    int revisions;
    try (var files = Files.list(target.resolve("migrations").resolve("versions"))) {
      revisions = (int) files.filter(f -> f.getFileName().toString().endsWith(".py")).count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Chain(name, Tool.ALEMBIC, target, revisions, "Alembic corpus " + name + " (real), testkit corpora/alembic/" + name);
  }

  static int count(Path folder, String prefix) {
    try (var files = Files.list(folder)) {
      return (int) files.filter(f -> f.getFileName().toString().matches(prefix + "[0-9]+__.*\\.sql")).count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path fresh(Path dir) {
    try {
      if (Files.exists(dir)) {
        try (var walk = Files.walk(dir)) {
          for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
            Files.delete(p);
          }
        }
      }
      return Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void copyTree(Path from, Path to) {
    try (var walk = Files.walk(from)) {
      for (Path p : walk.toList()) {
        if (p.toString().contains("__pycache__")) {
          continue;
        }
        Path copy = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(copy);
        } else {
          Files.copy(p, copy);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
