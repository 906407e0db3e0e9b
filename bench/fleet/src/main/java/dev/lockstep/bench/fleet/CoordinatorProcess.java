package dev.lockstep.bench.fleet;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real coordinator: the shaded jar started with {@code serve}, as the README runs it, logging to a file. Started by
 * {@link #start}, which returns once {@code GET /health} answers; {@link #stop} sends SIGTERM and waits.
 */
public final class CoordinatorProcess implements AutoCloseable {
  /** What a coordinator is started with; {@code jvmFlags} are the README's unless the bench was told otherwise. */
  public record Settings(Path jar, List<String> jvmFlags, String databaseUrl, String redisUrl, String service,
                         Path migrations, String operatorToken, String agentSecret, List<String> extraArgs) {}

  private final Process process;
  private final int port;
  private final Path log;

  private CoordinatorProcess(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  public static CoordinatorProcess start(Settings settings, int port, Path log) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(settings.jvmFlags());
    command.addAll(List.of("-jar", settings.jar().toString(), "serve", "--host", "127.0.0.1", "--port",
        String.valueOf(port), "--database-url", settings.databaseUrl(), "--redis-url", settings.redisUrl(),
        "--service", settings.service(), "--migrations", settings.migrations().toString(),
        "--token", settings.operatorToken(), "--agent-secret", settings.agentSecret()));
    command.addAll(settings.extraArgs());
    Process process = ProcessEnvironment.applied(new ProcessBuilder(command)).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    CoordinatorProcess coordinator = new CoordinatorProcess(process, port, log);
    coordinator.awaitHealthy(Duration.ofSeconds(60));
    return coordinator;
  }

  private void awaitHealthy(Duration within) throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(1)).build();
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("the coordinator on port " + port + " exited with " + process.exitValue() + "; see " + log);
      }
      try {
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(url() + "/health"))
            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
        if (health.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // Not listening yet.
      }
      Thread.sleep(200);
    }
    throw new IOException("the coordinator on port " + port + " did not answer /health within " + within + "; see " + log);
  }

  public String url() {
    return "http://127.0.0.1:" + port;
  }

  public long pid() {
    return process.pid();
  }

  public Path log() {
    return log;
  }

  public void stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(40, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      stop();
    }
  }
}
