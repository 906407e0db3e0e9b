package dev.lockstep.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The CLI's HTTP client over plain HTTP, and the threads it leaves behind for the JVM's exit to wait on. */
class ApiClientTest {

  @Test
  void plainHttpWorksAndTheClientsSelectorThreadEndsBeforeTheCliExits() throws Exception {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/v1/ping", exchange -> {
      byte[] body = "{\"answer\":\"pong\"}".getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    try {
      ApiClient api = new ApiClient("http://127.0.0.1:" + server.getAddress().getPort(), "token");
      @SuppressWarnings("unchecked")
      Map<String, Object> answer = api.get("/v1/ping", Map.class);
      assertThat(answer).containsEntry("answer", "pong");
      assertThat(selectorThreads()).as("the JDK client's selector thread, waiting in native code").isNotEmpty();

      ApiClient.releaseClientThreads();

      assertThat(selectorThreads()).as("selector threads still alive after release").isEmpty();
    } finally {
      server.stop(0);
    }
  }

  private static java.util.List<Thread> selectorThreads() {
    Thread[] threads = new Thread[Thread.activeCount() + 8];
    int n = Thread.enumerate(threads);
    return Arrays.stream(threads, 0, n)
        .filter(t -> t.getName().startsWith("HttpClient-") && t.getName().endsWith("-SelectorManager") && t.isAlive())
        .toList();
  }
}
