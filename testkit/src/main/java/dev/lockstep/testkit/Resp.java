package dev.lockstep.testkit;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One Redis command over a fresh connection, without a client library: for test support that starts, probes and
 * fails over Redis servers and sentinels, and for tests that read a key without starting Redisson.
 *
 * <pre>{@code Object role = Resp.call("127.0.0.1", 6379, "ROLE"); // [master, 0, []]}</pre>
 */
public final class Resp {
  private Resp() {}

  /**
   * Sends one command and returns its reply: a status or bulk string, an integer as a {@code Long}, an array as a
   * {@code List}, null for a nil reply.
   *
   * @throws IllegalStateException for an error reply ({@code "Redis error: …"})
   * @throws UncheckedIOException when the server cannot be reached or closes the connection
   */
  public static Object call(String host, int port, String... args) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(host, port), 1_000);
      socket.setSoTimeout(3_000);
      OutputStream out = socket.getOutputStream();
      StringBuilder cmd = new StringBuilder("*").append(args.length).append("\r\n");
      for (String a : args) {
        byte[] bytes = a.getBytes(StandardCharsets.UTF_8);
        cmd.append('$').append(bytes.length).append("\r\n").append(a).append("\r\n");
      }
      out.write(cmd.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
      return read(new BufferedInputStream(socket.getInputStream()));
    } catch (IOException e) {
      throw new UncheckedIOException("Redis " + host + ":" + port + ": " + e.getMessage(), e);
    }
  }

  /** Whether a server on {@code port} of 127.0.0.1 answers PING now. */
  static boolean answers(int port) {
    try {
      return "PONG".equals(call("127.0.0.1", port, "PING"));
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static Object read(InputStream in) throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new IOException("connection closed without a reply");
    }
    String line = line(in);
    switch (type) {
      case '+':
        return line;
      case '-':
        throw new IllegalStateException("Redis error: " + line);
      case ':':
        return Long.parseLong(line);
      case '$': {
        int length = Integer.parseInt(line);
        if (length < 0) {
          return null;
        }
        byte[] data = in.readNBytes(length + 2);
        return new String(data, 0, length, StandardCharsets.UTF_8);
      }
      case '*': {
        int count = Integer.parseInt(line);
        if (count < 0) {
          return null;
        }
        List<Object> items = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          items.add(read(in));
        }
        return items;
      }
      default:
        throw new IOException("unexpected RESP type '" + (char) type + "'");
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int c = in.read(); c >= 0; c = in.read()) {
      if (c == '\r') {
        in.read();
        return b.toString();
      }
      b.append((char) c);
    }
    throw new IOException("connection closed in the middle of a reply");
  }
}
