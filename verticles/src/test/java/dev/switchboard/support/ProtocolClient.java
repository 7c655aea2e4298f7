package dev.switchboard.support;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A blocking test client for the gateway protocol that connects the way OpenClaw's reference client
 * does: wait for {@code connect.challenge}, send {@code connect} ({@code gateway-client}/{@code backend},
 * role operator, requested scopes, token), then requests with {@code <counter>:<uuid>} ids. Every frame
 * received is kept, in order, so tests can count replies exactly.
 */
public final class ProtocolClient implements AutoCloseable {
  public static final Duration WAIT = Duration.ofSeconds(15);
  static final int MAX_MESSAGE = 25 * 1024 * 1024;
  public static final JsonArray ALL_SCOPES = new JsonArray().add("operator.admin").add("operator.read")
      .add("operator.write").add("operator.approvals").add("operator.questions");

  private final Vertx vertx;
  private final WebSocketClient wsClient;
  private final List<JsonObject> frames = new ArrayList<>();
  private final List<Long> seqs = new ArrayList<>();
  private final AtomicInteger counter = new AtomicInteger();
  private ClientWebSocket ws;
  private volatile Short closeCode;
  private volatile String closeReason;
  private JsonObject hello;

  private ProtocolClient(Vertx vertx, int receiveBufferBytes) {
    this.vertx = vertx;
    // like OpenClaw's client: inbound messages up to 25 MiB; large outbound messages go as one frame
    WebSocketClientOptions options = new WebSocketClientOptions().setMaxFrameSize(MAX_MESSAGE)
        .setMaxMessageSize(MAX_MESSAGE);
    if (receiveBufferBytes > 0) {
      options.setReceiveBufferSize(receiveBufferBytes);
    }
    this.wsClient = vertx.createWebSocketClient(options);
  }

  /** Opens a socket and waits for the challenge, without connecting. */
  public static ProtocolClient open(Vertx vertx, int port) {
    return open(vertx, port, 0);
  }

  /**
   * Opens a socket with a kernel receive buffer of {@code receiveBufferBytes} (0: the system's
   * default): a small one makes a paused client fill the server's buffer quickly.
   */
  public static ProtocolClient open(Vertx vertx, int port, int receiveBufferBytes) {
    ProtocolClient c = new ProtocolClient(vertx, receiveBufferBytes);
    try {
      // handlers are set before connecting: the challenge comes at once and must not find none
      ClientWebSocket ws = c.wsClient.webSocket();
      ws.textMessageHandler(c::onText);
      ws.closeHandler(v -> {
        synchronized (c.frames) {
          c.closeCode = ws.closeStatusCode() == null ? (short) 1005 : ws.closeStatusCode();
          c.closeReason = ws.closeReason();
          c.frames.notifyAll();
        }
      });
      c.ws = ws;
      ws.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI("/"))
          .await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("could not open a WebSocket on port " + port, e);
    }
    c.awaitFrame(f -> "connect.challenge".equals(f.getString("event")), WAIT);
    return c;
  }

  public static ProtocolClient connect(Vertx vertx, int port, String token) {
    return connect(vertx, port, connectParams(token, ALL_SCOPES));
  }

  public static ProtocolClient connect(Vertx vertx, int port, JsonObject connectParams) {
    return connect(vertx, port, connectParams, 0);
  }

  public static ProtocolClient connect(Vertx vertx, int port, JsonObject connectParams, int receiveBufferBytes) {
    ProtocolClient c = open(vertx, port, receiveBufferBytes);
    JsonObject res = c.request("connect", connectParams);
    if (!res.getBoolean("ok")) {
      c.close();
      throw new AssertionError("connect failed: " + res.encode());
    }
    c.hello = res.getJsonObject("payload");
    return c;
  }

  public static JsonObject connectParams(String token, JsonArray scopes) {
    return new JsonObject().put("minProtocol", 4).put("maxProtocol", 4)
        .put("client", new JsonObject().put("id", "gateway-client").put("version", "0.0.0")
            .put("platform", "linux").put("mode", "backend"))
        .put("role", "operator").put("scopes", scopes).put("caps", new JsonArray())
        .put("auth", new JsonObject().put("token", token));
  }

  public JsonObject hello() {
    return hello;
  }

  private void onText(String text) {
    JsonObject f = new JsonObject(text);
    synchronized (frames) {
      if (f.getValue("seq") != null && "event".equals(f.getString("type"))) {
        seqs.add(f.getLong("seq"));
      }
      frames.add(f);
      frames.notifyAll();
    }
  }

  /** Drops the frames kept so far (tests that stream a lot); event seqs are still remembered. */
  public void forgetFrames() {
    synchronized (frames) {
      frames.clear();
    }
  }

  public String nextId() {
    return counter.incrementAndGet() + ":" + UUID.randomUUID();
  }

  /** Sends a request and returns its first response frame (ok or not). */
  public JsonObject request(String method, JsonObject params) {
    String id = nextId();
    send(new JsonObject().put("type", "req").put("id", id).put("method", method).put("params", params));
    return awaitFrame(f -> "res".equals(f.getString("type")) && id.equals(f.getString("id")), WAIT);
  }

  /** Sends a request; returns the payload of a successful response, fails the test otherwise. */
  public JsonObject call(String method, JsonObject params) {
    JsonObject res = request(method, params);
    if (!res.getBoolean("ok")) {
      throw new AssertionError(method + " failed: " + res.encode());
    }
    Object p = res.getValue("payload");
    return p instanceof JsonObject o ? o : new JsonObject().put("value", p);
  }

  public void send(JsonObject frame) {
    sendRaw(frame.encode());
  }

  public void sendRaw(String text) {
    ws.writeTextMessage(text);
  }

  /** Sends one text message split into frames: a text frame, then continuation frames. */
  public void sendFragments(String... parts) {
    for (int i = 0; i < parts.length; i++) {
      boolean last = i == parts.length - 1;
      ws.writeFrame(i == 0 ? WebSocketFrame.textFrame(parts[i], last)
          : WebSocketFrame.continuationFrame(Buffer.buffer(parts[i]), last));
    }
  }

  public void sendBinary(byte[] data) {
    ws.writeBinaryMessage(Buffer.buffer(data));
  }

  /** Stops reading from the socket (a slow consumer): the server's writes pile up. */
  public void pause() {
    ws.pause();
  }

  public void resume() {
    ws.resume();
  }

  /** Waits for a frame matching {@code p} (received before or after this call). */
  public JsonObject awaitFrame(Predicate<JsonObject> p, Duration timeout) {
    int[] seen = {0};
    return waitFor(() -> {
      for (int i = seen[0]; i < frames.size(); i++) {
        if (p.test(frames.get(i))) {
          return frames.get(i);
        }
      }
      seen[0] = frames.size();
      return null;
    }, timeout, () -> "no matching frame within " + timeout + "; got " + frames);
  }

  /** Waits until the event seqs received so far (see {@link #eventSeqs}) satisfy {@code p}. */
  public List<Long> awaitSeqs(Predicate<List<Long>> p, Duration timeout) {
    return waitFor(() -> p.test(seqs) ? List.copyOf(seqs) : null, timeout,
        () -> "event seqs did not match within " + timeout + "; got " + seqs);
  }

  /**
   * Evaluates {@code check} under the frames lock each time something arrives (a frame or the
   * close) until it answers non-null, or fails after {@code timeout}.
   */
  private <T> T waitFor(Supplier<T> check, Duration timeout, Supplier<String> failure) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (frames) {
      while (true) {
        T result = check.get();
        if (result != null) {
          return result;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError(failure.get());
        }
        try {
          frames.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }
  }

  /** Waits for an event named {@code name} whose payload matches {@code p}; returns the payload. */
  public JsonObject awaitEvent(String name, Predicate<JsonObject> p) {
    return awaitFrame(f -> "event".equals(f.getString("type")) && name.equals(f.getString("event"))
        && p.test(f.getJsonObject("payload", new JsonObject())), WAIT).getJsonObject("payload");
  }

  /** The terminal chat event (final, error or aborted) of a run. */
  public JsonObject awaitChatEnd(String runId) {
    return awaitEvent("chat", p -> runId.equals(p.getString("runId"))
        && List.of("final", "error", "aborted").contains(p.getString("state")));
  }

  /** Every response frame received for request {@code id}, in order. */
  public List<JsonObject> responses(String id) {
    return frames(f -> "res".equals(f.getString("type")) && id.equals(f.getString("id")));
  }

  /** Payloads of every event named {@code name}, in arrival order. */
  public List<JsonObject> events(String name) {
    return frames(f -> "event".equals(f.getString("type")) && name.equals(f.getString("event")))
        .stream().map(f -> f.getJsonObject("payload")).toList();
  }

  /** The frame-level seq of every sequenced event received, in arrival order (kept across {@link #forgetFrames}). */
  public List<Long> eventSeqs() {
    synchronized (frames) {
      return List.copyOf(seqs);
    }
  }

  /** All frames received so far that match {@code p}. */
  public List<JsonObject> frames(Predicate<JsonObject> p) {
    synchronized (frames) {
      return frames.stream().filter(p).toList();
    }
  }

  /** Events of one name for one run, payloads in arrival order. */
  public List<JsonObject> events(String name, String runId) {
    return frames(f -> "event".equals(f.getString("type")) && name.equals(f.getString("event"))
        && runId.equals(f.getJsonObject("payload", new JsonObject()).getString("runId")))
        .stream().map(f -> f.getJsonObject("payload")).toList();
  }

  /** Sends a chat message and waits for its run to end; returns the terminal chat event. */
  public JsonObject chat(String sessionKey, String message) {
    String key = UUID.randomUUID().toString();
    JsonObject ack = call("chat.send", new JsonObject().put("sessionKey", sessionKey).put("message", message)
        .put("idempotencyKey", key));
    return awaitChatEnd(ack.getString("runId"));
  }

  /** Waits until the server closes the socket; returns the close code. */
  public short awaitClose(Duration timeout) {
    return waitFor(() -> closeCode, timeout, () -> "socket still open after " + timeout);
  }

  public Short closeCode() {
    return closeCode;
  }

  public String closeReason() {
    return closeReason;
  }

  public boolean isClosed() {
    return closeCode != null;
  }

  @Override
  public void close() {
    try {
      if (ws != null && !ws.isClosed()) {
        ws.close().await(5, TimeUnit.SECONDS);
      }
    } catch (Exception ignored) {
      // closing a test socket
    } finally {
      wsClient.close();
    }
  }
}
