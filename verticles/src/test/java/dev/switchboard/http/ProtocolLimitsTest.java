package dev.switchboard.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.switchboard.support.Poll;
import dev.switchboard.support.ProtocolClient;
import dev.switchboard.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Size limits, the handshake timeout and the tick keepalive, on a gateway configured with small
 * values. Every test also proves that a healthy client, connected before the misbehaving one, is
 * untouched.
 */
@Timeout(60)
class ProtocolLimitsTest {
  static final int MAX_PAYLOAD = 128 * 1024;
  static final int PRE_AUTH_MAX = 64 * 1024;
  static final int MAX_PENDING = 4;
  static Vertx vertx;
  static TestGateway gateway;
  static int port;
  ProtocolClient healthy;

  @BeforeAll
  static void start(@TempDir Path root) {
    gateway = TestGateway.standalone(root).workspace("main", TestGateway.echoWorkspace());
    vertx = gateway.vertx();
    gateway.start(gateway.gatewayJson().put("websocket", new JsonObject().put("maxPayloadBytes", MAX_PAYLOAD)
        .put("handshakeTimeoutMs", 3000).put("tickIntervalMs", 200).put("maxPendingHandshakes", MAX_PENDING)));
    port = gateway.port("main");
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @BeforeEach
  void connectHealthy() {
    healthy = gateway.client("main");
  }

  @AfterEach
  void healthyStillWorks() {
    try {
      assertThat(healthy.isClosed()).isFalse();
      assertThat(healthy.call("health", new JsonObject()).getBoolean("ok")).isTrue();
      assertThat(healthy.chat("main", "still answered").getString("state")).isEqualTo("final");
    } finally {
      healthy.close();
    }
  }

  @Test
  @DisplayName("hello-ok advertises the configured limits")
  void policy() {
    JsonObject policy = healthy.hello().getJsonObject("policy");
    assertThat(policy.getInteger("maxPayload")).isEqualTo(MAX_PAYLOAD);
    assertThat(policy.getInteger("maxBufferedBytes")).isEqualTo(50 * 1024 * 1024);
    assertThat(policy.getLong("tickIntervalMs")).isEqualTo(200L);
  }

  @Test
  @DisplayName("a pre-auth frame over 64 KiB closes with 1009")
  void preAuthFrameTooLarge() {
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      c.sendRaw(connectFrame("x".repeat(PRE_AUTH_MAX)));
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1009);
      assertThat(c.frames(f -> "res".equals(f.getString("type")))).isEmpty();
    }
    // exactly at the limit is still a connect (it just has the wrong token)
    String padded = connectFrame("");
    padded = connectFrame("y".repeat(PRE_AUTH_MAX - padded.length()));
    assertThat(padded.length()).isEqualTo(PRE_AUTH_MAX);
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      c.sendRaw(padded);
      JsonObject res = c.awaitFrame(f -> "res".equals(f.getString("type")), ProtocolClient.WAIT);
      assertThat(res.getJsonObject("error").getJsonObject("details").getString("code"))
          .isEqualTo("AUTH_TOKEN_MISSING");
    }
  }

  @Test
  @DisplayName("a pre-auth message sent in small fragments is counted as a whole: over 64 KiB closes with 1009")
  void preAuthFragmentsTooLarge() {
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      String chunk = "z".repeat(16 * 1024);
      c.sendFragments("{\"type\":\"req\",\"id\":\"1\",\"method\":\"connect\",\"params\":{\"pad\":\"", chunk, chunk, chunk,
          chunk, chunk, "\"}}");
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1009);
    }
  }

  @Test
  @DisplayName("after the handshake, a message over maxPayloadBytes closes the socket: 1009 when sent in fragments")
  void postAuthMessageTooLarge() {
    try (ProtocolClient c = gateway.client("main")) {
      // one frame over the limit is refused by the WebSocket decoder before it is read: it sends 1009
      // and drops the connection, so the unread rest of the frame usually turns it into a reset (1006)
      c.sendRaw(requestFrame("x".repeat(MAX_PAYLOAD)));
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isIn((short) 1009, (short) 1006);
    }
    try (ProtocolClient c = gateway.client("main")) {
      String chunk = "z".repeat(32 * 1024);
      c.sendFragments("{\"type\":\"req\",\"id\":\"1\",\"method\":\"health\",\"params\":{\"pad\":\"", chunk, chunk, chunk,
          chunk, "\"}}");
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1009);
      assertThat(c.closeReason()).isEqualTo("message too large");
    }
    // below the limit a large request is fine (100 KiB is over the pre-auth limit)
    try (ProtocolClient c = gateway.client("main")) {
      JsonObject end = c.chat("main", "big " + "b".repeat(100 * 1024));
      assertThat(end.getString("state")).isEqualTo("final");
    }
  }

  @Test
  @DisplayName("an unauthenticated socket cannot make the server buffer a large frame: past 64 KiB it is closed with 1009")
  void preAuthBytesAreBounded() throws Exception {
    // a frame declared within maxPayloadBytes but over the pre-auth limit, never finished: the
    // decoder alone would wait for the rest (until the handshake timeout, 1008) holding what came
    assertThat(rawPreAuthFrame(MAX_PAYLOAD - 1024, 100 * 1024)).isEqualTo((short) 1009);
  }

  @Test
  @DisplayName("sockets still authenticating are capped: the next upgrade gets 503, authenticated clients are unaffected")
  void pendingHandshakesAreCapped() {
    // sockets of earlier tests are gone once the server has seen them close
    awaitHandshaking(0);
    List<ProtocolClient> pending = new ArrayList<>();
    try {
      for (int i = 0; i < MAX_PENDING; i++) {
        pending.add(ProtocolClient.open(vertx, port));
      }
      WebSocketClient ws = vertx.createWebSocketClient();
      try {
        Throwable refused = catchThrowable(() -> ws.connect(port, "127.0.0.1", "/").await(10, TimeUnit.SECONDS));
        assertThat(refused).isInstanceOf(UpgradeRejectedException.class);
        assertThat(((UpgradeRejectedException) refused).getStatus()).isEqualTo(503);
      } finally {
        ws.close();
      }
      // one of them authenticates, which frees its place for a newcomer
      JsonObject res = pending.get(0).request("connect", ProtocolClient.connectParams(TestGateway.TOKEN,
          ProtocolClient.ALL_SCOPES));
      assertThat(res.getBoolean("ok")).isTrue();
      try (ProtocolClient late = ProtocolClient.connect(vertx, port, TestGateway.TOKEN)) {
        assertThat(late.call("health", new JsonObject()).getBoolean("ok")).isTrue();
      }
    } finally {
      pending.forEach(ProtocolClient::close);
    }
  }

  @Test
  @DisplayName("a socket that never sends connect is closed with 1008 after handshakeTimeoutMs")
  void handshakeTimeout() {
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1008);
      assertThat(c.closeReason()).isEqualTo("handshake timeout");
    }
  }

  @Test
  @DisplayName("a binary frame before the handshake closes with 1008; after it, it gets an error and the socket stays")
  void binaryFrames() {
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      c.sendBinary(new byte[] {1, 2, 3});
      assertThat(c.awaitClose(ProtocolClient.WAIT)).isEqualTo((short) 1008);
    }
    try (ProtocolClient c = gateway.client("main")) {
      c.sendBinary(new byte[] {1, 2, 3});
      JsonObject err = c.awaitFrame(f -> "invalid-frame".equals(f.getString("id")), ProtocolClient.WAIT);
      assertThat(err.getJsonObject("error").getString("code")).isEqualTo("INVALID_REQUEST");
      assertThat(c.call("health", new JsonObject()).getBoolean("ok")).isTrue();
    }
  }

  @Test
  @DisplayName("every tickIntervalMs an authenticated socket gets a tick event, numbered in sequence")
  void ticks() {
    List<JsonObject> ticks;
    healthy.awaitFrame(f -> "tick".equals(f.getString("event")) && f.getLong("seq") >= 3, ProtocolClient.WAIT);
    ticks = healthy.frames(f -> "tick".equals(f.getString("event")));
    assertThat(ticks).hasSizeGreaterThanOrEqualTo(3);
    for (JsonObject t : ticks) {
      assertThat(t.getJsonObject("payload").getLong("ts")).isPositive();
    }
    List<Long> seqs = healthy.eventSeqs();
    for (int i = 0; i < seqs.size(); i++) {
      assertThat(seqs.get(i)).isEqualTo(i + 1L);
    }
    // a socket that has not finished the handshake gets none
    try (ProtocolClient c = ProtocolClient.open(vertx, port)) {
      healthy.awaitFrame(f -> "tick".equals(f.getString("event")) && f.getLong("seq") >= seqs.size() + 2,
          ProtocolClient.WAIT);
      assertThat(c.frames(f -> "tick".equals(f.getString("event")))).isEmpty();
    }
  }

  /** Waits until the server counts {@code n} sockets that have not authenticated (status.websocket.handshaking). */
  void awaitHandshaking(int n) {
    int[] seen = {-1};
    Poll.until(n + " handshaking sockets", ProtocolClient.WAIT, () -> {
      seen[0] = healthy.call("status", new JsonObject()).getJsonObject("websocket").getInteger("handshaking");
      return seen[0] == n ? Boolean.TRUE : null;
    }, () -> seen[0]);
  }


  /**
   * Opens a raw socket, upgrades it, then sends the header of a masked text frame of {@code declared}
   * bytes and only {@code sent} bytes of its payload; returns the close code the server sends (-1
   * when the socket closed without one).
   */
  static short rawPreAuthFrame(int declared, int sent) throws Exception {
    NetClient net = vertx.createNetClient();
    try {
      NetSocket socket = net.connect(port, "127.0.0.1").await(10, TimeUnit.SECONDS);
      CompletableFuture<Void> upgraded = new CompletableFuture<>();
      CompletableFuture<Short> closed = new CompletableFuture<>();
      Buffer in = Buffer.buffer();
      int[] pos = {-1};
      socket.handler(b -> {
        in.appendBuffer(b);
        if (pos[0] < 0) {
          int end = in.toString(StandardCharsets.ISO_8859_1).indexOf("\r\n\r\n");
          if (end < 0) {
            return;
          }
          if (!in.toString(StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 101")) {
            upgraded.completeExceptionally(new AssertionError("upgrade refused: " + in));
            return;
          }
          pos[0] = end + 4;
          upgraded.complete(null);
        }
        // server frames are unmasked: opcode, length (7, 16 or 64 bit), payload
        while (in.length() - pos[0] >= 2) {
          int opcode = in.getByte(pos[0]) & 0x0f;
          int len = in.getByte(pos[0] + 1) & 0x7f;
          int header = 2;
          if (len == 126) {
            len = in.getUnsignedShort(pos[0] + 2);
            header = 4;
          } else if (len == 127) {
            len = (int) in.getLong(pos[0] + 2);
            header = 10;
          }
          if (in.length() - pos[0] < header + len) {
            return;
          }
          if (opcode == 8) {
            closed.complete(len >= 2 ? in.getShort(pos[0] + header) : (short) 1005);
          }
          pos[0] += header + len;
        }
      });
      socket.closeHandler(v -> closed.complete((short) -1));
      socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
      upgraded.get(10, TimeUnit.SECONDS);
      // FIN + text, masked with a zero key (legal; the payload stays as written), 64-bit length
      Buffer frame = Buffer.buffer().appendByte((byte) 0x81).appendByte((byte) (0x80 | 127)).appendLong(declared)
          .appendInt(0).appendBytes(new byte[sent]);
      socket.write(frame);
      return closed.get(ProtocolClient.WAIT.toSeconds(), TimeUnit.SECONDS);
    } finally {
      net.close();
    }
  }

  static String connectFrame(String pad) {
    return new JsonObject().put("type", "req").put("id", "1").put("method", "connect")
        .put("params", new JsonObject().put("minProtocol", 4).put("maxProtocol", 4)
            .put("client", new JsonObject().put("id", "cli").put("version", "1").put("platform", "linux")
                .put("mode", "cli").put("pad", pad))).encode();
  }

  static String requestFrame(String pad) {
    return new JsonObject().put("type", "req").put("id", "1").put("method", "health")
        .put("params", new JsonObject().put("pad", pad)).encode();
  }
}
