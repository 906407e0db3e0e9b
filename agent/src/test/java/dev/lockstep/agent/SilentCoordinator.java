package dev.lockstep.agent;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A coordinator URL that accepts TCP connections and reads whatever is sent, but never writes a byte: what a
 * paused (SIGSTOP) coordinator looks like from the network, where the kernel still completes handshakes and
 * buffers requests. It counts the connections it accepted and those the client has since closed, so a test can
 * tell an abandoned request (its connection closed) from one merely forgotten.
 */
final class SilentCoordinator implements AutoCloseable {
  private final ServerSocket server;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicInteger accepted = new AtomicInteger();
  private final AtomicInteger closedByClient = new AtomicInteger();

  SilentCoordinator() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "silent-coordinator");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  URI url() {
    return URI.create("http://127.0.0.1:" + server.getLocalPort());
  }

  int accepted() {
    return accepted.get();
  }

  /** Connections accepted and not yet closed by the client. */
  int open() {
    return accepted.get() - closedByClient.get();
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket socket : sockets) {
      socket.close();
    }
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket socket = server.accept();
        sockets.add(socket);
        accepted.incrementAndGet();
        Thread reader = new Thread(() -> drain(socket), "silent-coordinator-reader");
        reader.setDaemon(true);
        reader.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  /** Reads and discards until the client closes (end of stream or reset); never answers. */
  private void drain(Socket socket) {
    byte[] buffer = new byte[4096];
    try (InputStream in = socket.getInputStream()) {
      while (in.read(buffer) >= 0) {
        // Discard: a paused process answers nothing.
      }
      closedByClient.incrementAndGet();
    } catch (IOException e) {
      if (!server.isClosed()) {
        closedByClient.incrementAndGet(); // connection reset by the client
      }
    }
  }
}
