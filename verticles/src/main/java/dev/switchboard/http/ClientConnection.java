package dev.switchboard.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One WebSocket client: the handshake (challenge, connect, hello-ok), then requests and events.
 * Per-connection event numbering, size limits and slow-consumer handling live here. A write to a
 * closed socket is dropped, never an error.
 */
final class ClientConnection {
  private static final Logger LOG = LoggerFactory.getLogger(ClientConnection.class);
  static final int PRE_AUTH_MAX_BYTES = 64 * 1024;
  static final int PROTOCOL = 4;
  static final List<String> CLIENT_IDS = List.of("webchat-ui", "openclaw-control-ui", "openclaw-browser-copilot",
      "openclaw-tui", "webchat", "cli", "gateway-client", "openclaw-macos", "openclaw-linux", "openclaw-ios",
      "openclaw-watchos", "openclaw-android", "node-host", "openclaw-worker", "test", "fingerprint", "openclaw-probe");
  static final List<String> CLIENT_MODES = List.of("webchat", "cli", "ui", "backend", "node", "worker", "probe", "test");
  /** The id of an error answering a frame that carried no usable request id. */
  static final String INVALID_FRAME_ID = "invalid-frame";

  enum State { HANDSHAKE, OPEN, CLOSED }

  private final ProtocolServer server;
  private final ServerWebSocket ws;
  private final HttpConnection connection;
  final String connId;
  final String remoteHost;
  private final String nonce = UUID.randomUUID().toString();
  private final long challengeTs = System.currentTimeMillis();
  private static final int MAX_SENT_TO = 64;

  private State state = State.HANDSHAKE;
  private long seq;
  private long buffered;
  private Buffer message;
  private boolean messageBinary;
  private long handshakeTimer = -1;
  private PreAuthByteLimit preAuthGuard;
  Set<String> scopes = Set.of();
  Set<String> caps = Set.of();
  String clientId;
  String clientMode;
  boolean sessionsSubscribed;
  final Set<String> messageSubscriptions = new HashSet<>();
  /** Sessions this client sent to lately (bounded): a session-scoped client follows their runs too. */
  private final Set<String> sentTo = new java.util.LinkedHashSet<>();
  private boolean sessionScoped;

  ClientConnection(ProtocolServer server, ServerWebSocket ws, HttpConnection connection, String connId) {
    this.server = server;
    this.ws = ws;
    this.connection = connection;
    this.connId = connId;
    this.remoteHost = ws.remoteAddress() == null ? "unknown" : ws.remoteAddress().hostAddress();
  }

  void start() {
    // headers and framing of the connect request fit comfortably in 1 KiB beside its 64 KiB; the
    // guard runs in Netty's pipeline, so the close goes through this connection's own context
    io.vertx.core.Context context = server.vertx().getOrCreateContext();
    preAuthGuard = PreAuthByteLimit.install(connection, PRE_AUTH_MAX_BYTES + 1024L, () -> context.runOnContext(v -> {
      LOG.info("connection {} from {} closed: over {} bytes before authenticating", connId, remoteHost,
          PRE_AUTH_MAX_BYTES);
      close((short) 1009, "frame too large");
    }));
    ws.frameHandler(this::onFrame);
    ws.exceptionHandler(err -> LOG.debug("connection {}: {}", connId, err.toString()));
    ws.closeHandler(v -> {
      state = State.CLOSED;
      server.vertx().cancelTimer(handshakeTimer);
      server.closed(this);
    });
    send(Frames.event("connect.challenge", null, new JsonObject().put("nonce", nonce).put("ts", challengeTs)));
    handshakeTimer = server.vertx().setTimer(server.limits().handshakeTimeoutMs(), t -> {
      if (state == State.HANDSHAKE) {
        close((short) 1008, "handshake timeout");
      }
    });
  }

  boolean isOpen() {
    return state == State.OPEN;
  }

  /** Bytes handed to the socket that it has not written out yet (what a slow reader piles up). */
  long bufferedBytes() {
    return buffered;
  }

  // ---- inbound ------------------------------------------------------------------------------

  /**
   * Reassembles messages from frames, so the size limit in force (64 KiB before the handshake,
   * {@code maxPayloadBytes} after) is checked as bytes arrive, fragment by fragment.
   */
  private void onFrame(WebSocketFrame f) {
    if (state == State.CLOSED || !(f.isText() || f.isBinary() || f.isContinuation())) {
      return; // ping, pong and close are answered by Vert.x
    }
    if (!f.isContinuation()) {
      message = Buffer.buffer();
      messageBinary = f.isBinary();
    } else if (message == null) {
      close((short) 1002, "continuation frame without a message");
      return;
    }
    Buffer data = f.binaryData();
    long limit = state == State.HANDSHAKE ? PRE_AUTH_MAX_BYTES : server.limits().maxPayloadBytes();
    if ((long) message.length() + data.length() > limit) {
      message = null;
      LOG.info("connection {} from {} closed: message over {} bytes", connId, remoteHost, limit);
      close((short) 1009, state == State.HANDSHAKE ? "frame too large" : "message too large");
      return;
    }
    message.appendBuffer(data);
    if (!f.isFinal()) {
      return;
    }
    Buffer complete = message;
    message = null;
    if (messageBinary) {
      onBinary();
    } else {
      onText(complete.toString(StandardCharsets.UTF_8));
    }
  }

  private void onBinary() {
    if (state == State.HANDSHAKE) {
      close((short) 1008, "invalid request frame");
    } else {
      respondError(INVALID_FRAME_ID, ProtocolError.invalid("invalid request frame: binary frames are not supported"));
    }
  }

  private void onText(String text) {
    if (state == State.CLOSED) {
      return;
    }
    if (state == State.HANDSHAKE) {
      onHandshakeFrame(text);
      return;
    }
    JsonObject frame;
    try {
      Object parsed = Json.decodeValue(text);
      if (!(parsed instanceof JsonObject o)) {
        respondError(INVALID_FRAME_ID, ProtocolError.invalid("invalid request frame: expected a JSON object"));
        return;
      }
      frame = o;
    } catch (DecodeException e) {
      respondError(INVALID_FRAME_ID, ProtocolError.invalid("invalid request frame: not valid JSON"));
      return;
    }
    String id = frame.getValue("id") instanceof String s && !s.isEmpty() ? s : null;
    if (!"req".equals(frame.getValue("type"))) {
      respondError(id == null ? INVALID_FRAME_ID : id,
          ProtocolError.invalid("invalid request frame: type must be \"req\""));
      return;
    }
    if (id == null) {
      respondError(INVALID_FRAME_ID, ProtocolError.invalid("invalid request frame: id must be a non-empty string"));
      return;
    }
    if (!(frame.getValue("method") instanceof String method) || method.isEmpty()) {
      respondError(id, ProtocolError.invalid("invalid request frame: method must be a non-empty string"));
      return;
    }
    Object params = frame.getValue("params");
    if (params != null && !(params instanceof JsonObject)) {
      // an unknown method is reported as such, whatever its params
      respondError(id, server.isMethod(method) ? ProtocolError.invalidParams(method, "params must be an object")
          : ProtocolError.unknownMethod(method));
      return;
    }
    if (method.equals("connect")) {
      respondError(id, ProtocolError.invalid("invalid request: connect is only valid as the first request"));
      return;
    }
    server.dispatch(this, id, method, params == null ? new JsonObject() : (JsonObject) params);
  }

  private void onHandshakeFrame(String text) {
    JsonObject frame;
    try {
      Object parsed = Json.decodeValue(text);
      frame = parsed instanceof JsonObject o ? o : null;
    } catch (DecodeException e) {
      frame = null;
    }
    if (frame == null || !"req".equals(frame.getValue("type")) || !(frame.getValue("id") instanceof String id)
        || id.isEmpty() || !(frame.getValue("method") instanceof String method) || method.isEmpty()) {
      close((short) 1008, "invalid request frame");
      return;
    }
    if (!method.equals("connect")) {
      fail(id, ProtocolError.invalid("invalid handshake: first request must be connect"), (short) 1008);
      return;
    }
    Object params = frame.getValue("params");
    if (!(params instanceof JsonObject p)) {
      fail(id, ProtocolError.invalid("invalid connect params: params must be an object"), (short) 1008);
      return;
    }
    connect(id, p);
  }

  private void connect(String id, JsonObject p) {
    String invalid = validateConnect(p);
    if (invalid != null) {
      fail(id, ProtocolError.invalid("invalid connect params: " + invalid), (short) 1008);
      return;
    }
    int min = p.getInteger("minProtocol");
    int max = p.getInteger("maxProtocol");
    if (min > PROTOCOL || max < PROTOCOL) {
      fail(id, new ProtocolError(ProtocolError.INVALID_REQUEST, "protocol mismatch", new JsonObject()
          .put("code", "PROTOCOL_MISMATCH").put("clientMinProtocol", min).put("clientMaxProtocol", max)
          .put("expectedProtocol", PROTOCOL), null, null), (short) 1002);
      return;
    }
    // the shared secret is accepted from either auth.token or auth.password
    JsonObject auth = p.getJsonObject("auth", new JsonObject());
    String token = auth.getString("token", "");
    String password = auth.getString("password", "");
    boolean passwordMode = token.isEmpty() && !password.isEmpty();
    ProtocolError authError = server.authenticate(remoteHost, passwordMode ? password : token, passwordMode);
    if (authError != null) {
      fail(id, authError, (short) 1008);
      return;
    }
    JsonObject client = p.getJsonObject("client");
    clientId = client.getString("id");
    clientMode = client.getString("mode");
    scopes = Scopes.grant(p.getJsonArray("scopes"));
    caps = new HashSet<>();
    for (Object c : p.getJsonArray("caps", new JsonArray())) {
      if (c instanceof String s) {
        caps.add(s);
      }
    }
    sessionScoped = caps.contains(ProtocolServer.SESSION_SCOPED_CAP);
    state = State.OPEN;
    server.vertx().cancelTimer(handshakeTimer);
    if (preAuthGuard != null) {
      preAuthGuard.remove();
    }
    respond(id, server.helloOk(this, passwordMode ? "password" : "token"));
    server.opened(this);
  }

  /** Null when the params have the schema's shape, otherwise what is wrong. */
  private static String validateConnect(JsonObject p) {
    for (String k : List.of("minProtocol", "maxProtocol")) {
      if (!(p.getValue(k) instanceof Integer i) || i < 1) {
        return k + " must be a positive integer";
      }
    }
    if (!(p.getValue("client") instanceof JsonObject client)) {
      return "missing required property 'client'";
    }
    for (String k : List.of("id", "version", "platform", "mode")) {
      if (!(client.getValue(k) instanceof String s) || s.isEmpty()) {
        return "client." + k + " must be a non-empty string";
      }
    }
    if (!CLIENT_IDS.contains(client.getString("id"))) {
      return "client.id must be one of the known client ids";
    }
    if (!CLIENT_MODES.contains(client.getString("mode"))) {
      return "client.mode must be one of " + String.join(", ", CLIENT_MODES);
    }
    Object role = p.getValue("role");
    if (role != null && !"operator".equals(role)) {
      return "invalid role (only operator is supported)";
    }
    if (p.getValue("scopes") != null && !(p.getValue("scopes") instanceof JsonArray)) {
      return "scopes must be an array";
    }
    if (p.getValue("auth") != null) {
      if (!(p.getValue("auth") instanceof JsonObject auth)) {
        return "auth must be an object";
      }
      for (String k : List.of("token", "password", "deviceToken", "bootstrapToken")) {
        if (auth.getValue(k) != null && !(auth.getValue(k) instanceof String)) {
          return "auth." + k + " must be a string";
        }
      }
    }
    if (p.getValue("caps") != null && !(p.getValue("caps") instanceof JsonArray)) {
      return "caps must be an array";
    }
    return null;
  }

  // ---- outbound -----------------------------------------------------------------------------

  void respond(String id, Object payload) {
    reply(Frames.response(id, payload));
  }

  void respondError(String id, ProtocolError e) {
    reply(Frames.error(id, e));
  }

  /** A response is never dropped; but a client that does not read its responses is cut off. */
  private void reply(JsonObject frame) {
    if (buffered > server.limits().maxBufferedBytes()) {
      slowConsumer();
      return;
    }
    send(frame);
  }

  /**
   * Sends an event with the next per-connection seq. When the client does not keep up (more than
   * {@code maxBufferedBytes} waiting to be written), a droppable event is skipped but its number is
   * used up, so the client sees the gap and resyncs; any other event closes the connection with
   * 1008 "slow consumer".
   */
  void event(String name, Object payload, boolean droppable) {
    event(name, Json.encode(payload), droppable);
  }

  /** {@link #event(String, Object, boolean)} with the payload already encoded (once for every receiver). */
  void event(String name, String encodedPayload, boolean droppable) {
    if (state != State.OPEN) {
      return;
    }
    if (buffered > server.limits().maxBufferedBytes()) {
      if (droppable) {
        seq++;
        server.eventDropped();
        return;
      }
      slowConsumer();
      return;
    }
    seq++;
    sendText(Frames.event(name, seq, encodedPayload));
  }

  /**
   * Whether this client gets a session's {@code chat} and {@code agent} events: every client does,
   * as in OpenClaw, unless it asked for session-scoped events; then only for sessions it subscribed
   * to ({@code sessions.messages.subscribe}) or sent to.
   */
  boolean follows(String sessionKey) {
    return !sessionScoped || messageSubscriptions.contains(sessionKey) || sentTo.contains(sessionKey);
  }

  void sentTo(String sessionKey) {
    if (sentTo.remove(sessionKey) || sentTo.size() < MAX_SENT_TO) {
      sentTo.add(sessionKey);
      return;
    }
    sentTo.remove(sentTo.iterator().next());
    sentTo.add(sessionKey);
  }

  private void slowConsumer() {
    if (state == State.CLOSED) {
      return;
    }
    server.slowConsumerClosed();
    LOG.info("connection {} from {} closed: slow consumer ({} bytes waiting)", connId, remoteHost, buffered);
    close((short) 1008, "slow consumer");
  }

  private void send(JsonObject frame) {
    sendText(frame.encode());
  }

  private void sendText(String text) {
    if (state == State.CLOSED || ws.isClosed()) {
      return;
    }
    long size = utf8Length(text);
    try {
      ws.writeTextMessage(text).onComplete(ar -> {
        buffered -= size;
        if (ar.failed()) {
          LOG.debug("write to {} failed: {}", connId, ar.cause().toString());
        }
      });
      buffered += size;
    } catch (IllegalStateException closedMeanwhile) {
      // the socket closed between the check and the write: a frame for a gone client is dropped
      state = State.CLOSED;
      server.closed(this);
    }
  }

  static long utf8Length(String s) {
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch < 0x80) {
        n++;
      } else if (ch < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(ch) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  private void fail(String id, ProtocolError e, short closeCode) {
    respondError(id, e);
    close(closeCode, e.getMessage());
  }

  void close(short code, String reason) {
    if (state == State.CLOSED) {
      return;
    }
    state = State.CLOSED;
    server.vertx().cancelTimer(handshakeTimer);
    server.closed(this);
    String r = reason;
    // a close reason must fit in a control frame (123 bytes)
    while (r.getBytes(StandardCharsets.UTF_8).length > 123) {
      r = r.substring(0, r.length() - 1);
    }
    ws.close(code, r).onFailure(err -> LOG.debug("close of {} failed: {}", connId, err.toString()));
  }
}
