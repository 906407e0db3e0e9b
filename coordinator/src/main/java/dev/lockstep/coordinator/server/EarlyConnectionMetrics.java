package dev.lockstep.coordinator.server;

import io.vertx.core.VertxOptions;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import io.vertx.core.metrics.MetricsOptions;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.spi.VertxMetricsFactory;
import io.vertx.core.spi.metrics.ClientMetrics;
import io.vertx.core.spi.metrics.DatagramSocketMetrics;
import io.vertx.core.spi.metrics.EventBusMetrics;
import io.vertx.core.spi.metrics.HttpClientMetrics;
import io.vertx.core.spi.metrics.HttpServerMetrics;
import io.vertx.core.spi.metrics.PoolMetrics;
import io.vertx.core.spi.metrics.TCPMetrics;
import io.vertx.core.spi.metrics.VertxMetrics;
import io.vertx.core.spi.observability.HttpRequest;
import io.vertx.core.spi.observability.HttpResponse;

/**
 * Server metrics that let a connection accepted before they existed go uncounted instead of hanging it.
 *
 * <p>Vert.x 5.0.7 binds a server's port first and sets the server's metrics when the bind completes
 * ({@code NetServerImpl.bind}). A connection accepted in between was never reported {@code connected}, so it has no
 * socket metric, yet its requests are reported to the metrics set since. Micrometer's server metrics then throw a
 * {@code NullPointerException} in {@code requestBegin}, inside Vert.x's request handling: the request is never
 * answered and the client waits for ever. Seen here: a {@code GET /health} sent in the first milliseconds after the
 * coordinator logged "listening" hung a {@code curl} without a timeout, and a script polling for readiness (the demo's
 * own, over {@code /dev/tcp}) would hang the same way. This passes every call on, but drops those about a connection or
 * request the metrics never saw, so that connection's requests are answered and only go uncounted.
 *
 * <pre>{@code Vertx.builder().withMetrics(new EarlyConnectionMetrics(new MicrometerMetricsFactory(registry)))}</pre>
 */
public final class EarlyConnectionMetrics implements VertxMetricsFactory {
  private final VertxMetricsFactory metrics;

  public EarlyConnectionMetrics(VertxMetricsFactory metrics) {
    this.metrics = metrics;
  }

  @Override
  public VertxMetrics metrics(VertxOptions options) {
    return new Guarded(metrics.metrics(options));
  }

  @Override
  public MetricsOptions newOptions() {
    return metrics.newOptions();
  }

  @Override
  public MetricsOptions newOptions(MetricsOptions options) {
    return metrics.newOptions(options);
  }

  @Override
  public MetricsOptions newOptions(JsonObject json) {
    return metrics.newOptions(json);
  }

  /** Vert.x's metrics, with the servers' wrapped. */
  private record Guarded(VertxMetrics metrics) implements VertxMetrics {
    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public HttpServerMetrics<?, ?, ?> createHttpServerMetrics(HttpServerOptions options, SocketAddress local) {
      HttpServerMetrics server = metrics.createHttpServerMetrics(options, local);
      return server == null ? null : new GuardedHttpServer<>(server);
    }

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"})
    public TCPMetrics<?> createNetServerMetrics(NetServerOptions options, SocketAddress local) {
      TCPMetrics server = metrics.createNetServerMetrics(options, local);
      return server == null ? null : new GuardedTcpServer<>(server);
    }

    @Override
    public EventBusMetrics createEventBusMetrics() {
      return metrics.createEventBusMetrics();
    }

    @Override
    public ClientMetrics<?, ?, ?> createClientMetrics(SocketAddress remote, String type, String namespace) {
      return metrics.createClientMetrics(remote, type, namespace);
    }

    @Override
    public HttpClientMetrics<?, ?, ?> createHttpClientMetrics(HttpClientOptions options) {
      return metrics.createHttpClientMetrics(options);
    }

    @Override
    public TCPMetrics<?> createNetClientMetrics(NetClientOptions options) {
      return metrics.createNetClientMetrics(options);
    }

    @Override
    public DatagramSocketMetrics createDatagramSocketMetrics(DatagramSocketOptions options) {
      return metrics.createDatagramSocketMetrics(options);
    }

    @Override
    public PoolMetrics<?, ?> createPoolMetrics(String type, String name, int maxSize) {
      return metrics.createPoolMetrics(type, name, maxSize);
    }

    @Override
    public void vertxCreated(io.vertx.core.Vertx vertx) {
      metrics.vertxCreated(vertx);
    }

    @Override
    public boolean isMetricsEnabled() {
      return metrics.isMetricsEnabled();
    }

    @Override
    public void close() {
      metrics.close();
    }
  }

  /** A TCP server's metrics: a null socket metric is a connection they never saw. */
  private static class GuardedTcpServer<S> implements TCPMetrics<S> {
    private final TCPMetrics<S> server;

    GuardedTcpServer(TCPMetrics<S> server) {
      this.server = server;
    }

    @Override
    public S connected(SocketAddress remote, String remoteName) {
      return server.connected(remote, remoteName);
    }

    @Override
    public void disconnected(S socket, SocketAddress remote) {
      if (socket != null) {
        server.disconnected(socket, remote);
      }
    }

    @Override
    public void bytesRead(S socket, SocketAddress remote, long bytes) {
      if (socket != null) {
        server.bytesRead(socket, remote, bytes);
      }
    }

    @Override
    public void bytesWritten(S socket, SocketAddress remote, long bytes) {
      if (socket != null) {
        server.bytesWritten(socket, remote, bytes);
      }
    }

    @Override
    public void exceptionOccurred(S socket, SocketAddress remote, Throwable failure) {
      if (socket != null) {
        server.exceptionOccurred(socket, remote, failure);
      }
    }

    @Override
    public void close() {
      server.close();
    }
  }

  /** An HTTP server's metrics: a request of an unseen connection gets no request metric, and is then not reported. */
  private static final class GuardedHttpServer<R, W, S> extends GuardedTcpServer<S> implements HttpServerMetrics<R, W, S> {
    private final HttpServerMetrics<R, W, S> server;

    GuardedHttpServer(HttpServerMetrics<R, W, S> server) {
      super(server);
      this.server = server;
    }

    @Override
    public R requestBegin(S socket, HttpRequest request) {
      return socket == null ? null : server.requestBegin(socket, request);
    }

    @Override
    public void requestEnd(R request, HttpRequest req, long bytesRead) {
      if (request != null) {
        server.requestEnd(request, req, bytesRead);
      }
    }

    @Override
    public void requestReset(R request) {
      if (request != null) {
        server.requestReset(request);
      }
    }

    @Override
    public void responseBegin(R request, HttpResponse response) {
      if (request != null) {
        server.responseBegin(request, response);
      }
    }

    @Override
    public R responsePushed(S socket, HttpMethod method, String uri, HttpResponse response) {
      return socket == null ? null : server.responsePushed(socket, method, uri, response);
    }

    @Override
    public void responseEnd(R request, HttpResponse response, long bytesWritten) {
      if (request != null) {
        server.responseEnd(request, response, bytesWritten);
      }
    }

    @Override
    public W connected(S socket, R request, ServerWebSocket webSocket) {
      return socket == null || request == null ? null : server.connected(socket, request, webSocket);
    }

    @Override
    public void disconnected(W webSocket) {
      if (webSocket != null) {
        server.disconnected(webSocket);
      }
    }

    @Override
    public void requestRouted(R request, String route) {
      if (request != null) {
        server.requestRouted(request, route);
      }
    }
  }
}
