package dev.lockstep.coordinator.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.lockstep.protocol.ErrorBody;
import dev.lockstep.protocol.Json;
import dev.lockstep.protocol.Phase;
import dev.lockstep.protocol.ReleaseDocument;
import dev.lockstep.testkit.TestDatabase;
import dev.lockstep.testkit.TestPostgres;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The API's limits against a real coordinator process started with small ones: the failed-authentication
 * budget per address, the caps on event streams and long polls per identity (and their slots coming back
 * when a client disconnects or a poll times out), oversized headers, request lines and bodies.
 *
 * <p>Requests go over plain sockets, so a test can choose its source address: all of 127.0.0.0/8 is
 * loopback on Linux, and a socket bound to 127.0.0.2 reaches the coordinator as another client would.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LimitsIT {
  private static final String WRONG = "guess-" + java.util.UUID.randomUUID();
  private static TestDatabase db;
  private static Fleet fleet;
  private static int port;
  private static final List<Socket> open = new ArrayList<>();

  @BeforeAll
  static void start() {
    db = TestPostgres.instance().createDatabase("LimitsIT");
    fleet = new Fleet("LimitsIT", db);
    Path migrations = fleet.migrations("story");
    fleet.startCoordinator(migrations, "--auth-failures", "3", "--auth-failure-window", "9s",
        "--max-event-streams", "2", "--max-long-polls", "1",
        "--agent-token", Fleet.SHARED_AGENT_TOKEN, "--allow-shared-agent-token");
    // Its prepare hook sleeps, so a release stays in PREPARING while the streams test holds it open.
    fleet.startSlowAgent("slow-1", "v1", migrations, "sleep 30 && ");
    fleet.awaitAgents("slow-1");
    port = URI.create(fleet.url()).getPort();
  }

  @AfterAll
  static void stop() {
    open.forEach(LimitsIT::closeQuietly);
    fleet.close();
    db.close();
  }

  @Test
  @Order(1)
  void anAddressOutOfFailedAuthenticationsGets429BeforeItsTokenIsComparedAndOtherAddressesDoNot() throws Exception {
    for (int i = 0; i < 3; i++) {
      Answer wrong = send("127.0.0.2", "GET /v1/agents", Map.of("Authorization", "Bearer " + WRONG), null);
      assertThat(wrong.status()).as(wrong.body()).isEqualTo(401);
    }
    Answer refused = send("127.0.0.2", "GET /v1/agents", Map.of("Authorization", "Bearer " + WRONG), null);
    assertThat(refused.status()).as(refused.body()).isEqualTo(429);
    ErrorBody error = refused.error();
    assertThat(error.error()).isEqualTo("too_many_requests");
    assertThat(error.detail()).startsWith("too many failed authentications from 127.0.0.2 (more than 3 per 9s); retry after ")
        .endsWith(" s");
    long retryAfter = Long.parseLong(refused.headers().get("retry-after"));
    assertThat(retryAfter).isBetween(1L, 3L);
    assertThat(error.detail()).endsWith("retry after " + retryAfter + " s");

    // While over budget even the right token from that address is not compared: a guesser learns nothing.
    Answer right = send("127.0.0.2", "GET /v1/agents", Map.of("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN), null);
    assertThat(right.status()).as(right.body()).isEqualTo(429);
    // A request without a token is no guess: it still gets its 401 saying what to send.
    assertThat(send("127.0.0.2", "GET /v1/agents", Map.of(), null).status()).isEqualTo(401);

    // Another address is not slowed.
    Answer other = send("127.0.0.3", "GET /v1/agents", Map.of("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN), null);
    assertThat(other.status()).as(other.body()).isEqualTo(200);
    assertThat(send("127.0.0.1", "GET /v1/agents", Map.of("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN), null)
        .status()).isEqualTo(200);

    // The budget comes back at 3 per 9 s: one try after 3 s at most.
    await().atMost(Duration.ofSeconds(retryAfter + 5)).pollInterval(Duration.ofMillis(500)).until(() ->
        send("127.0.0.2", "GET /v1/agents", Map.of("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN), null).status() == 200);

    // Neighbours behind one address: a token that authenticated from 127.0.0.4 keeps working while a
    // neighbour's wrong token empties the address's budget; a token new to that address waits like a guess.
    String desired = "GET /v1/services/" + fleet.service + "/desired";
    Map<String, String> neighbour = Map.of("Authorization", "Bearer " + Fleet.agentToken(fleet.service, "neighbour-1"));
    assertThat(send("127.0.0.4", desired, neighbour, null).status()).isEqualTo(200);
    for (int i = 0; i < 4; i++) {
      send("127.0.0.4", "GET /v1/agents", Map.of("Authorization", "Bearer " + WRONG), null);
    }
    assertThat(send("127.0.0.4", "GET /v1/agents", Map.of("Authorization", "Bearer " + WRONG), null).status())
        .isEqualTo(429);
    Answer known = send("127.0.0.4", desired, neighbour, null);
    assertThat(known.status()).as(known.body()).isEqualTo(200);
    assertThat(send("127.0.0.4", desired, Map.of("Authorization", "Bearer " + Fleet.agentToken(fleet.service, "neighbour-2")),
        null).status()).isEqualTo(429);

    String log = Files.readString(fleet.dir.resolve("coordinator.log"));
    assertThat(log).contains("127.0.0.2 failed authentication 3 times").doesNotContain(WRONG)
        .doesNotContain(Fleet.OPERATOR_TOKEN);
  }

  @Test
  @Order(2)
  void anIdentityHoldsAtMostItsLongPollsAndGetsTheSlotBackOnDisconnectAndOnTimeout() throws Exception {
    String desired = "GET /v1/services/" + fleet.service + "/desired";
    // An agent that is not running: the real slow-1 holds its own poll, which is its own identity's.
    Map<String, String> probe = Map.of("Authorization", "Bearer " + Fleet.agentToken(fleet.service, "probe-1"));
    Answer now = send("127.0.0.1", desired, probe, null);
    assertThat(now.status()).as(now.body()).isEqualTo(200);
    String index = now.headers().get("x-lockstep-index");
    String poll = desired + "?index=" + index + "&wait=60s";

    Socket first = hold(poll, probe);
    Answer second = send("127.0.0.1", poll, probe, null);
    assertThat(second.status()).as(second.body()).isEqualTo(429);
    assertThat(second.error().error()).isEqualTo("too_many_requests");
    assertThat(second.error().detail()).isEqualTo("identity " + fleet.service + "/probe-1 already has 1 long polls open;"
        + " close one or raise --max-long-polls");
    // A plain read (no wait) is not a long poll and is never refused.
    assertThat(send("127.0.0.1", desired + "?index=" + index, probe, null).status()).isEqualTo(200);
    // Other identities have slots of their own: another agent, the operator.
    Socket other = hold(poll, Map.of("Authorization", "Bearer " + Fleet.agentToken(fleet.service, "probe-2")));
    Map<String, String> operator = Map.of("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN);
    Socket operatorPoll = hold(poll, operator);
    Answer operatorSecond = send("127.0.0.1", poll, operator, null);
    assertThat(operatorSecond.status()).isEqualTo(429);
    assertThat(operatorSecond.error().detail()).startsWith("identity operator already has 1 long polls open");
    // The shared agent token is the whole fleet's: not capped per identity.
    Map<String, String> shared = Map.of("Authorization", "Bearer " + Fleet.SHARED_AGENT_TOKEN);
    Socket shared1 = hold(poll, shared);
    Socket shared2 = hold(poll, shared);

    // The client goes away without a word: its slot comes back.
    first.close();
    Answer timedOut = await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
        .until(() -> send("127.0.0.1", desired + "?index=" + index + "&wait=1s", probe, null), a -> a.status() != 429);
    assertThat(timedOut.status()).as("the poll ran its 1 s and answered").isEqualTo(200);
    // ... and so does one that timed out: the next poll is let through.
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() ->
        send("127.0.0.1", desired + "?index=" + index + "&wait=1s", probe, null).status() == 200);
    for (Socket socket : List.of(other, operatorPoll, shared1, shared2)) {
      socket.close();
    }
  }

  @Test
  @Order(3)
  void anIdentityHoldsAtMostItsEventStreamsAndGetsTheSlotBackOnDisconnect() throws Exception {
    Map<String, String> operator = Map.of("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN);
    Answer started = send("127.0.0.1", "POST /v1/releases", operator, "{\"revision\":\"v2\",\"schema\":\"1\"}");
    assertThat(started.status()).as(started.body()).isEqualTo(202);
    String id = Json.read(started.body(), ReleaseDocument.class).id();
    String events = "GET /v1/releases/" + id + "/events";
    try {
      Socket one = hold(events, operator);
      Socket two = hold(events, operator);
      Answer third = send("127.0.0.1", events, operator, null);
      assertThat(third.status()).as(third.body()).isEqualTo(429);
      assertThat(third.error().detail()).isEqualTo("identity operator already has 2 event streams open;"
          + " close one or raise --max-event-streams");
      // The slot is taken before the release is read, so a flood of streams never reaches PostgreSQL.
      assertThat(send("127.0.0.1", "GET /v1/releases/r-nope/events", operator, null).status()).isEqualTo(429);

      one.close();
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() -> {
        Socket again = tryHold(events, operator);
        if (again == null) {
          return false;
        }
        open.add(again);
        return true;
      });
      two.close();
      // With a slot free again, the unknown release is its 404 (and that stream gives its slot back at once).
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() ->
          send("127.0.0.1", "GET /v1/releases/r-nope/events", operator, null).status() == 404);
      assertThat(send("127.0.0.1", "GET /v1/releases/r-nope/events", operator, null).status()).isEqualTo(404);
    } finally {
      send("127.0.0.1", "POST /v1/releases/" + id + "/abort", operator, null);
      await().atMost(Duration.ofSeconds(30)).until(() -> fleet.api().get("/v1/releases/" + id, ReleaseDocument.class)
          .phase().isTerminal());
    }
    assertThat(fleet.api().get("/v1/releases/" + id, ReleaseDocument.class).phase()).isEqualTo(Phase.ABORTED);
    // A stream that ends (its release did) gives its slot back: the stream still held above ended with the
    // release, and one after another, more streams than the cap each run to their end.
    for (int i = 0; i < 3; i++) {
      Answer ended = await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
          .until(() -> send("127.0.0.1", events, operator, null), a -> a.status() != 429);
      assertThat(ended.status()).as(ended.body()).isEqualTo(200);
      assertThat(ended.body()).contains("event: end");
    }
  }

  @Test
  @Order(4)
  void oversizedHeadersRequestLinesAndBodiesGetAJsonErrorNamingTheLimit() throws Exception {
    Map<String, String> big = new LinkedHashMap<>();
    big.put("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN);
    big.put("X-Padding", "x".repeat(9000));
    Answer headers = send("127.0.0.1", "GET /v1/agents", big, null);
    assertThat(headers.status()).isEqualTo(431);
    assertThat(headers.headers().get("content-type")).isEqualTo("application/json");
    assertThat(headers.error().error()).isEqualTo("too_large");
    assertThat(headers.error().detail()).contains("headers larger than 8192 bytes");

    Answer line = send("127.0.0.1", "GET /v1/agents?service=" + "a".repeat(5000), Map.of(), null);
    assertThat(line.status()).isEqualTo(414);
    assertThat(line.error().detail()).contains("request line").contains("4096 bytes");

    Answer body = send("127.0.0.1", "PUT /v1/agents/a-1",
        Map.of("Authorization", "Bearer " + Fleet.agentToken(fleet.service, "a-1")),
        "x".repeat((1 << 20) + 1));
    assertThat(body.status()).isEqualTo(413);
    assertThat(body.error().error()).isEqualTo("too_large");
    assertThat(body.error().detail()).contains("limit 1 MiB");

    Answer upload = send("127.0.0.1", "POST /v1/check", Map.of("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN),
        "x".repeat(15 << 20));
    assertThat(upload.status()).isEqualTo(413);
    assertThat(upload.error().detail()).contains("limit 14 MiB");
    // The coordinator still answers normally afterwards.
    assertThat(send("127.0.0.1", "GET /v1/agents", Map.of("Authorization", "Bearer " + Fleet.OPERATOR_TOKEN), null)
        .status()).isEqualTo(200);
  }

  // ---- plain HTTP/1.1 over a socket with a chosen source address ------------------------------------------

  record Answer(int status, Map<String, String> headers, String body) {
    ErrorBody error() {
      assertThat(headers.get("content-type")).as(body).isEqualTo("application/json");
      return Json.read(body, ErrorBody.class);
    }
  }

  private static Socket connect(String from) throws IOException {
    Socket socket = new Socket();
    socket.bind(new InetSocketAddress(from, 0));
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    return socket;
  }

  private static void write(Socket socket, String requestLine, Map<String, String> headers, String body) throws IOException {
    StringBuilder head = new StringBuilder(requestLine).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
    byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    if (body != null) {
      head.append("Content-Type: application/json\r\nContent-Length: ").append(bytes.length).append("\r\n");
    }
    head.append("\r\n");
    socket.getOutputStream().write(head.toString().getBytes(StandardCharsets.UTF_8));
    try {
      socket.getOutputStream().write(bytes);
      socket.getOutputStream().flush();
    } catch (IOException refusedMidway) {
      // A body over the limit may be cut off by the answer: read what came back.
    }
  }

  /** One request on its own connection, the whole answer read (the server closes after it). */
  static Answer send(String from, String requestLine, Map<String, String> headers, String body) throws IOException {
    try (Socket socket = connect(from)) {
      socket.setSoTimeout(30_000);
      write(socket, requestLine, headers, body);
      return parse(readAll(socket.getInputStream()));
    }
  }

  /** Starts a request that stays open (a stream or a long poll) and checks that it was let through. */
  private static Socket hold(String requestLine, Map<String, String> headers) throws IOException {
    Socket socket = tryHold(requestLine, headers);
    assertThat(socket).as(requestLine + " was refused at once").isNotNull();
    open.add(socket);
    return socket;
  }

  /** The open socket, or null if the coordinator answered with an error within a second. */
  private static Socket tryHold(String requestLine, Map<String, String> headers) throws IOException {
    Socket socket = connect("127.0.0.1");
    write(socket, requestLine, headers, null);
    socket.setSoTimeout(1000);
    byte[] first = new byte[12];
    try {
      int n = socket.getInputStream().read(first);
      String status = n <= 0 ? "" : new String(first, 0, n, StandardCharsets.US_ASCII);
      if (status.startsWith("HTTP/1.1 200")) {
        return socket; // an event stream: headers at once, then events
      }
      socket.close();
      return null;
    } catch (SocketTimeoutException stillWaiting) {
      return socket; // a long poll: nothing until the state changes or the wait ends
    }
  }

  private static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    try {
      for (int n; (n = in.read(buffer)) > 0; ) {
        out.write(buffer, 0, n);
      }
    } catch (java.net.SocketException reset) {
      // The server closed after answering a request it would not read to the end.
    }
    return out.toByteArray();
  }

  private static Answer parse(byte[] raw) {
    int end = indexOf(raw, 0);
    assertThat(end).as("an HTTP answer: " + new String(raw, StandardCharsets.UTF_8)).isPositive();
    String[] lines = new String(raw, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
    }
    byte[] body = java.util.Arrays.copyOfRange(raw, end + 4, raw.length);
    if ("chunked".equals(headers.get("transfer-encoding"))) {
      body = unchunk(body);
    }
    return new Answer(status, headers, new String(body, StandardCharsets.UTF_8));
  }

  /** Where the first CRLF CRLF at or after {@code from} starts, or -1. */
  private static int indexOf(byte[] raw, int from) {
    for (int i = from; i + 3 < raw.length; i++) {
      if (raw[i] == '\r' && raw[i + 1] == '\n' && raw[i + 2] == '\r' && raw[i + 3] == '\n') {
        return i;
      }
    }
    return -1;
  }

  /** Chunk sizes count bytes, so the body is taken apart as bytes. */
  private static byte[] unchunk(byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = 0;
    while (at < body.length) {
      int eol = at;
      while (eol + 1 < body.length && !(body[eol] == '\r' && body[eol + 1] == '\n')) {
        eol++;
      }
      int size = Integer.parseInt(new String(body, at, eol - at, StandardCharsets.US_ASCII).trim(), 16);
      if (size == 0) {
        break;
      }
      out.write(body, eol + 2, size);
      at = eol + 2 + size + 2;
    }
    return out.toByteArray();
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // already gone
    }
  }
}
