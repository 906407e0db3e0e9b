package dev.lockstep.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP forwarder on a port of its own in front of a real server, for tests that need the server
 * out of reach without stopping it (others share it): {@link #cut()} closes every forwarded
 * connection and stops listening, so clients see their connections drop and new ones refused, as
 * when the server is down; {@link #restore()} listens again on the same port.
 *
 * <pre>{@code
 * try (TcpProxy proxy = new TcpProxy("127.0.0.1", 5432)) {
 *   String url = "postgresql://postgres@127.0.0.1:" + proxy.port() + "/" + db.name();
 *   proxy.cut();      // "Connection refused" from now on
 *   proxy.restore();  // reachable again
 * }
 * }</pre>
 */
public final class TcpProxy implements AutoCloseable {
  private final String targetHost;
  private final int targetPort;
  private final int port;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile ServerSocket listener;

  /** Starts listening on a free port of 127.0.0.1. */
  public TcpProxy(String targetHost, int targetPort) {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.port = listen(0);
  }

  public int port() {
    return port;
  }

  /** Closes every forwarded connection and refuses new ones until {@link #restore()}. Idempotent. */
  public synchronized void cut() {
    ServerSocket current = listener;
    listener = null;
    closeQuietly(current);
    for (Socket s : List.copyOf(open)) {
      closeQuietly(s);
    }
  }

  /** Listens again on the same port. Idempotent. */
  public synchronized void restore() {
    if (listener == null) {
      listen(port);
    }
  }

  @Override
  public void close() {
    cut();
  }

  private synchronized int listen(int onPort) {
    try {
      ServerSocket server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), onPort));
      listener = server;
      daemon("tcp-proxy-accept-" + server.getLocalPort(), () -> accept(server));
      return server.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("proxy could not listen on port " + onPort, e);
    }
  }

  private void accept(ServerSocket server) {
    while (!server.isClosed()) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException closed) {
        return;
      }
      Socket upstream;
      try {
        upstream = new Socket(targetHost, targetPort);
      } catch (IOException e) {
        closeQuietly(client);
        continue;
      }
      open.add(client);
      open.add(upstream);
      if (listener != server) {
        // cut while this one was being accepted: it must not outlive the cut
        closeQuietly(client);
        closeQuietly(upstream);
        return;
      }
      daemon("tcp-proxy-up", () -> pump(client, upstream));
      daemon("tcp-proxy-down", () -> pump(upstream, client));
    }
  }

  // Copies until either side closes, then closes both, so a cut is seen at both ends.
  private void pump(Socket from, Socket to) {
    byte[] buffer = new byte[16 * 1024];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException ended) {
      // a side closed or was cut
    } finally {
      closeQuietly(from);
      closeQuietly(to);
      open.remove(from);
      open.remove(to);
    }
  }

  private static void daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception ignored) {
      // closing is all we wanted
    }
  }
}
