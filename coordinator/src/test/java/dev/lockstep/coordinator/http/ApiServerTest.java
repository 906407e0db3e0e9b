package dev.lockstep.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lockstep.coordinator.config.DatabaseUrl;
import dev.lockstep.coordinator.config.RedisUrl;
import dev.lockstep.coordinator.store.StoreState;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The API on several event loops: one port, connections spread over the loops, one router behind them all. */
class ApiServerTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void threeLoopsShareOnePortAndServeConnectionsOnDifferentThreads() throws Exception {
    HealthRoutes health = new HealthRoutes(vertx, "app", StoreState.postgres(DatabaseUrl.parse(
        "postgresql://127.0.0.1:5432/app"), Clock.systemUTC()), StoreState.redis(RedisUrl.parse("redis://127.0.0.1:6379"),
        Clock.systemUTC()));
    ApiServer api = ApiServer.listen(vertx, 3, new HttpServerOptions().setHost("127.0.0.1").setPort(0), health)
        .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(api.servers()).hasSize(3);
    int port = api.server().actualPort();
    assertThat(api.servers()).allSatisfy(s -> assertThat(s.actualPort()).isEqualTo(port));

    Router router = Router.router(vertx);
    router.get("/thread").handler(ctx -> ctx.response().end(Thread.currentThread().getName()));
    api.serve(router);

    Set<String> threads = new HashSet<>();
    for (int i = 0; i < 12; i++) {
      // A client per request: a new connection each time, handed to the next loop.
      HttpClient client = HttpClient.newHttpClient();
      HttpResponse<String> answer = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/thread"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(answer.statusCode()).isEqualTo(200);
      threads.add(answer.body());
    }
    assertThat(threads).as("event-loop threads that served 12 connections").hasSize(3)
        .allSatisfy(t -> assertThat(t).startsWith("vert.x-eventloop-thread-"));
  }
}
