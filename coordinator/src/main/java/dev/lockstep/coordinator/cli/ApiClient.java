package dev.lockstep.coordinator.cli;

import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/**
 * The operator CLI's view of the coordinator's HTTP API: blocking calls, JSON in and out, and a
 * server-sent-event reader. An error response becomes a {@link CliException} carrying the
 * coordinator's own words.
 */
public final class ApiClient {
  /**
   * The exit code of a coordinator that could not be reached or could not answer (a 5xx): 4, since 3 is {@code
   * release}'s "completed, its contract pending" (DESIGN.md).
   */
  public static final int UNREACHABLE = 4;

  private final HttpClient http;
  private final String base;
  private final String token;

  public ApiClient(String base, String token) {
    this(base, token, null);
  }

  /**
   * As above, over TLS with {@code tls} (whom to trust, and a client certificate for mutual TLS) for an
   * {@code https://} base; null: the JVM's defaults.
   */
  public ApiClient(String base, String token, SSLContext tls) {
    this.base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    this.token = token;
    HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
    if (tls != null) {
      builder.sslContext(tls);
    } else if (this.base.startsWith("http://")) {
      // Without a context of its own the client builds the JVM's default one, reading its trust store: 0.1–0.3 s of a
      // CLI run that never speaks TLS (the client follows no redirect, so plain HTTP stays plain).
      builder.sslContext(noTls());
    }
    this.http = builder.build();
  }

  /**
   * Lets the JDK's HTTP client threads end, for a CLI that is about to exit. Java 17's {@code HttpClient} has no {@code
   * close()}, and its selector thread waits for the network in native code ({@code epoll_wait}), where the JVM's exit
   * waits up to 300 ms for it (VM_Exit gives threads in native code 30 × 10 ms to stop): measured here as 0.3 s between
   * the CLI's last output and its exit, in every command. Interrupted, the selector thread leaves its loop and ends.
   */
  public static void releaseClientThreads() {
    Thread[] threads = new Thread[Thread.activeCount() + 8];
    int n = Thread.enumerate(threads);
    for (int i = 0; i < n; i++) {
      String name = threads[i].getName();
      if (name.startsWith("HttpClient-") && name.endsWith("-SelectorManager")) {
        threads[i].interrupt();
        try {
          threads[i].join(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** A TLS context that trusts no one and presents nothing: for a client that only ever speaks plain HTTP. */
  private static SSLContext noTls() {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(new javax.net.ssl.KeyManager[0], new javax.net.ssl.TrustManager[0], null);
      return context;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("the JVM offers no TLS context: " + e.getMessage(), e);
    }
  }

  public <T> T get(String path, Class<T> type) {
    return send(request(path).GET().build(), type);
  }

  public <T> T post(String path, Object body, Class<T> type) {
    return send(request(path).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body == null ? "{}" : Json.write(body))).build(), type);
  }

  public <T> T delete(String path, Class<T> type) {
    return send(request(path).DELETE().build(), type);
  }

  /** Reads {@code path} as server-sent events, handing each {@code data:} payload with its event name to {@code onEvent}. */
  public void events(String path, java.util.function.BiConsumer<String, String> onEvent) {
    HttpRequest req = request(path).header("Accept", "text/event-stream").GET().build();
    try {
      HttpResponse<Stream<String>> response = http.send(req, HttpResponse.BodyHandlers.ofLines());
      if (response.statusCode() >= 400) {
        throw new CliException(2, "coordinator answered " + response.statusCode() + " for " + path);
      }
      String[] event = {"message"};
      try (Stream<String> lines = response.body()) {
        lines.forEach(line -> {
          if (line.startsWith("event:")) {
            event[0] = line.substring(6).trim();
          } else if (line.startsWith("data:")) {
            onEvent.accept(event[0], line.substring(5).trim());
          } else if (line.isEmpty()) {
            event[0] = "message";
          }
        });
      }
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(130, "interrupted");
    }
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
    if (token != null && !token.isBlank()) {
      b.header("Authorization", "Bearer " + token);
    }
    return b;
  }

  private <T> T send(HttpRequest req, Class<T> type) {
    try {
      HttpResponse<String> response = http.send(req, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() >= 400) {
        String detail = response.body();
        try {
          ErrorBody error = Json.read(response.body(), ErrorBody.class);
          detail = error.detail() == null ? error.error() : error.detail();
        } catch (IllegalArgumentException notJson) {
          // keep the raw body
        }
        throw new CliException(response.statusCode() >= 500 ? UNREACHABLE : 2, detail);
      }
      return Json.read(response.body(), type);
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(130, "interrupted");
    }
  }

  private static SSLException tlsFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SSLException ssl) {
        return ssl;
      }
    }
    return null;
  }

  private CliException unreachable(IOException e) {
    SSLException tls = tlsFailure(e);
    if (tls != null) {
      return new CliException(UNREACHABLE, "TLS handshake with the coordinator at " + base + " failed (" + tls.getMessage()
          + "); give the CA that signed its certificate with --ca-cert (or LOCKSTEP_CA_CERT), and where it requires"
          + " mutual TLS a client certificate with --client-cert and --client-key");
    }
    String why = e instanceof ConnectException ? "connection refused" : String.valueOf(e.getMessage());
    return new CliException(UNREACHABLE, "cannot reach the coordinator at " + base + " (" + why
        + "); is `lockstep serve` running there? Set --coordinator or LOCKSTEP_COORDINATOR");
  }

}
