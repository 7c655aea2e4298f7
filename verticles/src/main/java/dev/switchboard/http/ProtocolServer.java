package dev.switchboard.http;

import dev.switchboard.auth.FailedAuthLimiter;
import dev.switchboard.channels.webchat.WebchatChannel;
import dev.switchboard.config.Secret;
import dev.switchboard.delivery.ChannelOutlet;
import dev.switchboard.lanes.LiveEvent;
import dev.switchboard.store.EventStore;
import dev.switchboard.routing.Pairing;
import dev.switchboard.store.HomeTargetStore;
import dev.switchboard.store.InboundStore;
import dev.switchboard.store.PairingStore;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.store.SessionStore;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.WorkspaceBus;
import dev.switchboard.workspace.WorkspaceConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway WebSocket protocol (a subset of OpenClaw's gateway protocol v4) for one workspace:
 * connections, authentication, method dispatch with scope checks, and the mapping of session
 * events to {@code chat}, {@code agent}, {@code sessions.changed} and {@code session.message} events.
 * Runs on the HTTP verticle's event loop.
 */
final class ProtocolServer {
  private static final Logger LOG = LoggerFactory.getLogger(ProtocolServer.class);
  static final String VERSION = ProtocolServer.class.getPackage().getImplementationVersion() == null
      ? "dev" : ProtocolServer.class.getPackage().getImplementationVersion();
  /** Every event this server emits (and nothing it does not). */
  static final List<String> EVENTS = List.of("connect.challenge", "tick", "shutdown", "chat", "agent",
      "sessions.changed", "session.message");
  /** The error kinds a {@code chat} error event may carry. */
  static final List<String> ERROR_KINDS = List.of("refusal", "timeout", "rate_limit", "context_length", "unknown");

  private static boolean isErrorKind(String kind) {
    return kind != null && ERROR_KINDS.contains(kind);
  }
  private static final int MAX_TRACKED_RUNS = 10_000;
  private static final int MAX_REMEMBERED_DELIVERIES = 10_000;
  private static final AtomicLong CONNECTIONS = new AtomicLong();
  /** The client capability that turns on {@code agent} events of the {@code tool} stream. */
  static final String TOOL_EVENTS_CAP = "tool-events";
  /** A Switchboard cap: chat and agent events only for sessions the client watches (docs/protocol.md). */
  static final String SESSION_SCOPED_CAP = "switchboard.session-scoped-events";

  /** Protocol limits, from gateway.json's {@code websocket} section. */
  record Limits(int maxPayloadBytes, int maxBufferedBytes, long tickIntervalMs, long handshakeTimeoutMs,
      int maxPendingHandshakes) {
    static Limits fromJson(JsonObject j) {
      return new Limits(j.getInteger("maxPayloadBytes", 25 * 1024 * 1024),
          j.getInteger("maxBufferedBytes", 50 * 1024 * 1024), j.getLong("tickIntervalMs", 30_000L),
          j.getLong("handshakeTimeoutMs", 15_000L), j.getInteger("maxPendingHandshakes", 256));
    }
  }

  /** What the protocol remembers of a run between its events (for per-run seq and in-flight text). */
  static final class RunView {
    final String runId;
    final String sessionKey;
    final String sessionId;
    long lastSeq;
    String text = "";
    String errorKind;
    boolean ended;

    RunView(String runId, String sessionKey, String sessionId) {
      this.runId = runId;
      this.sessionKey = sessionKey;
      this.sessionId = sessionId;
    }
  }

  private final Vertx vertx;
  private final WorkspaceConfig workspace;
  private final WorkspaceBus bus;
  private final SessionStore sessions;
  private final EventStore events;
  private final Secret token;
  private final Limits limits;
  private final long startedAt = System.currentTimeMillis();
  private final FailedAuthLimiter authLimiter;
  private final Set<ClientConnection> connections = new LinkedHashSet<>();
  private final Set<ClientConnection> handshaking = new java.util.HashSet<>();
  private final Map<String, RunView> runs = new LinkedHashMap<>();
  private final Set<String> deliveredObligations = new LinkedHashSet<>();
  private final MethodTable methods = new MethodTable();
  private final WebchatChannel webchat;
  private final HomeTargetStore homes;
  private final AgentViews agentViews;
  private final Pairing pairing;
  private long tickTimer = -1;
  private long droppedEvents;
  private long slowConsumersClosed;

  ProtocolServer(Vertx vertx, WorkspaceConfig workspace, WorkspaceBus bus, SessionStore sessions, EventStore events,
      InboundStore inbound, Secret token, Limits limits) {
    this.vertx = vertx;
    this.workspace = workspace;
    this.bus = bus;
    this.sessions = sessions;
    this.events = events;
    this.token = token;
    this.limits = limits;
    this.authLimiter = FailedAuthLimiter.shared(vertx);
    this.webchat = new WebchatChannel(bus, inbound, this::onWebchatReply);
    this.homes = new HomeTargetStore(sessions.pool());
    this.pairing = new Pairing(bus, new PairingStore(sessions.pool()), Clock.systemUTC());
    GatewayMethods.register(methods, this);
    ChatMethods.register(methods, this);
    SessionMethods.register(methods, this);
    this.agentViews = new AgentViews(vertx, workspace, bus, sessions, events);
    AgentMethods.register(methods, this, agentViews);
    PairingMethods.register(methods, this);
  }

  AgentViews agentViews() {
    return agentViews;
  }


  Vertx vertx() {
    return vertx;
  }

  WorkspaceConfig workspace() {
    return workspace;
  }

  WorkspaceBus bus() {
    return bus;
  }

  SessionStore sessions() {
    return sessions;
  }

  EventStore events() {
    return events;
  }

  HomeTargetStore homes() {
    return homes;
  }

  Pairing pairing() {
    return pairing;
  }

  WebchatChannel webchat() {
    return webchat;
  }

  Limits limits() {
    return limits;
  }

  long uptimeMs() {
    return System.currentTimeMillis() - startedAt;
  }

  int connectionCount() {
    return connections.size();
  }

  /** Connection counters for {@code status}: open sockets, events skipped for slow readers, slow readers cut off. */
  JsonObject connectionStats() {
    return new JsonObject().put("connections", connections.size()).put("handshaking", handshaking.size())
        .put("droppedEvents", droppedEvents)
        .put("slowConsumersClosed", slowConsumersClosed);
  }

  void eventDropped() {
    droppedEvents++;
  }

  void slowConsumerClosed() {
    slowConsumersClosed++;
  }

  List<String> methodNames() {
    return methods.names();
  }

  boolean isMethod(String name) {
    return methods.get(name) != null;
  }

  /** The run currently streaming in a session, if any. */
  RunView activeRun(String sessionKey) {
    for (RunView v : runs.values()) {
      if (!v.ended && v.sessionKey.equals(sessionKey)) {
        return v;
      }
    }
    return null;
  }

  Future<Void> start() {
    tickTimer = vertx.setPeriodic(limits.tickIntervalMs(), t -> {
      JsonObject tick = new JsonObject().put("ts", System.currentTimeMillis());
      broadcast("tick", tick, true, c -> true);
    });
    return webchat.start();
  }

  /** Tells every client the gateway is stopping, then closes them with 1012. */
  void shutdown(String reason) {
    vertx.cancelTimer(tickTimer);
    for (ClientConnection c : List.copyOf(connections)) {
      c.event("shutdown", new JsonObject().put("reason", reason), false);
      c.close((short) 1012, "service restart");
    }
  }

  void accept(ServerWebSocket ws, HttpConnection connection) {
    ClientConnection c = new ClientConnection(this, ws, connection,
        "c-" + Long.toString(CONNECTIONS.incrementAndGet(), 36));
    handshaking.add(c);
    c.start();
  }

  /**
   * Whether another socket may start a handshake now: sockets that have not authenticated yet are
   * capped ({@code websocket.maxPendingHandshakes}), so a flood of idle or slow sockets cannot use up
   * memory and timers; authenticated clients are never refused by this.
   */
  boolean acceptsHandshake() {
    return handshaking.size() < limits.maxPendingHandshakes();
  }

  void opened(ClientConnection c) {
    handshaking.remove(c);
    connections.add(c);
  }

  void closed(ClientConnection c) {
    handshaking.remove(c);
    connections.remove(c);
  }

  /**
   * Null when {@code presented} is the operator token; otherwise the error to send. Every origin
   * ({@code remoteHost}), loopback included, gets {@value FailedAuthLimiter#DEFAULT_MAX_FAILURES}
   * wrong tries per minute across all workspaces and surfaces (WebSocket and REST); then every
   * attempt, even a right one, is refused until the lock ends.
   */
  ProtocolError authenticate(String remoteHost, String presented, boolean passwordMode) {
    long now = System.currentTimeMillis();
    long wait = authLimiter.retryAfterMs(remoteHost, now);
    if (wait > 0) {
      return authError("AUTH_RATE_LIMITED", "rate_limited",
          "unauthorized: too many failed authentication attempts (retry later)", true, wait);
    }
    if (presented == null || presented.isEmpty()) {
      return authError("AUTH_TOKEN_MISSING", "token_missing",
          "unauthorized: gateway token missing (provide gateway auth token)", null, null);
    }
    if (!token.matches(presented)) {
      authLimiter.fail(remoteHost, now);
      LOG.warn("workspace {}: failed operator authentication from {}", workspace.id(), remoteHost);
      return passwordMode
          ? authError("AUTH_PASSWORD_MISMATCH", "password_mismatch",
              "unauthorized: gateway password mismatch (provide gateway auth password)", null, null)
          : authError("AUTH_TOKEN_MISMATCH", "token_mismatch",
              "unauthorized: gateway token mismatch (provide gateway auth token)", null, null);
    }
    authLimiter.succeed(remoteHost, now);
    return null;
  }

  private static ProtocolError authError(String code, String reason, String message, Boolean retryable,
      Long retryAfterMs) {
    return new ProtocolError(ProtocolError.INVALID_REQUEST, message, new JsonObject().put("code", code)
        .put("authReason", reason).put("canRetryWithDeviceToken", false)
        .put("recommendedNextStep", "update_auth_credentials"), retryable, retryAfterMs);
  }

  /**
   * How OpenClaw clients name the workspace's DM scope: {@code global} when every direct message
   * shares the main session ({@code dmScope: main}), {@code per-sender} otherwise.
   */
  static String clientScope(WorkspaceConfig ws) {
    return "main".equals(ws.session().dmScope()) ? "global" : "per-sender";
  }

  JsonObject helloOk(ClientConnection c, String authMethod) {
    String defaultAgent = workspace.defaultAgent().id();
    String mainKey = workspace.session().mainKey();
    long now = System.currentTimeMillis();
    return new JsonObject()
        .put("type", "hello-ok")
        .put("protocol", ClientConnection.PROTOCOL)
        .put("server", new JsonObject().put("version", VERSION).put("connId", c.connId))
        .put("features", new JsonObject().put("methods", new JsonArray(methods.names()))
            .put("events", new JsonArray(EVENTS)).put("capabilities", new JsonArray()))
        .put("snapshot", new JsonObject()
            .put("presence", new JsonArray())
            .put("health", new JsonObject().put("ok", true).put("ts", now))
            .put("stateVersion", new JsonObject().put("presence", 0).put("health", 0))
            .put("uptimeMs", uptimeMs())
            .put("authMode", "token")
            .put("sessionDefaults", new JsonObject().put("defaultAgentId", defaultAgent).put("mainKey", mainKey)
                .put("mainSessionKey", "agent:" + defaultAgent + ":" + mainKey).put("scope", clientScope(workspace))
                // every agent has a provider: the built-in echo model when none is configured
                .put("modelConfigured", true)))
        .put("auth", new JsonObject().put("role", "operator").put("scopes", new JsonArray(List.copyOf(c.scopes)))
            .put("method", authMethod))
        .put("policy", new JsonObject().put("maxPayload", limits.maxPayloadBytes())
            .put("maxBufferedBytes", limits.maxBufferedBytes()).put("tickIntervalMs", limits.tickIntervalMs()));
  }

  // ---- requests -----------------------------------------------------------------------------

  void dispatch(ClientConnection c, String id, String method, JsonObject params) {
    MethodTable.Entry entry = methods.get(method);
    if (entry == null) {
      c.respondError(id, ProtocolError.unknownMethod(method));
      return;
    }
    Future<?> result;
    try {
      String scope = entry.scope().apply(params);
      if (!Scopes.satisfies(c.scopes, scope)) {
        c.respondError(id, ProtocolError.missingScope(scope));
        return;
      }
      result = entry.handler().handle(new MethodCall(c, id, method, params));
    } catch (ProtocolError e) {
      result = Future.failedFuture(e);
    } catch (RuntimeException e) {
      result = Future.failedFuture(e);
    }
    result.onComplete(ar -> {
      if (ar.succeeded()) {
        c.respond(id, ar.result());
      } else {
        c.respondError(id, toProtocolError(method, ar.cause()));
      }
    });
  }

  /** Maps a failure from anywhere behind a method to the protocol's error shape. */
  static ProtocolError toProtocolError(String method, Throwable err) {
    if (err instanceof ProtocolError p) {
      return p;
    }
    int code = BusFailure.codeOf(err);
    String message = err instanceof ReplyException || err instanceof BusFailure.Coded ? err.getMessage() : null;
    return switch (code) {
      case BusFailure.BAD_REQUEST, BusFailure.NOT_FOUND, BusFailure.CONFLICT ->
          ProtocolError.invalid(message == null ? "invalid request" : message);
      case BusFailure.FORBIDDEN -> new ProtocolError(ProtocolError.FORBIDDEN, message, null, null, null);
      case BusFailure.BUSY -> ProtocolError.unavailable(message == null ? "busy" : message, 1_000L);
      case BusFailure.UNAVAILABLE -> ProtocolError.unavailable(
          message == null || message.isBlank() ? "temporarily unavailable" : message, 1_000L);
      default -> {
        LOG.error("{} failed", method, err);
        yield ProtocolError.unavailable("internal error", null);
      }
    };
  }

  // ---- events -------------------------------------------------------------------------------

  void broadcast(String event, Object payload, boolean droppable, Predicate<ClientConnection> to) {
    String encoded = null;
    // a copy: a receiver that is cut off (slow consumer) leaves the set while this runs
    for (ClientConnection c : connections.toArray(new ClientConnection[0])) {
      if (c.isOpen() && to.test(c)) {
        if (encoded == null) {
          encoded = Json.encode(payload);
        }
        c.event(event, encoded, droppable);
      }
    }
  }

  void sessionsChanged(JsonObject payload) {
    broadcast("sessions.changed", payload.put("ts", System.currentTimeMillis()), false, c -> c.sessionsSubscribed);
  }

  /** Maps one session event to protocol events. */
  void onLiveEvent(LiveEvent live) {
    SessionEvent e = live.event();
    String key = live.sessionKey();
    String runId = e.runId();
    JsonObject p = e.payload();
    RunView run = runId == null ? null : track(runId, key, e.sessionId());
    if (run != null) {
      run.lastSeq = Math.max(run.lastSeq, live.runSeq());
    }
    long now = System.currentTimeMillis();
    switch (e.type()) {
      case SessionEvent.USER_MESSAGE, SessionEvent.TEXT_FINAL, SessionEvent.ASSISTANT_NOTE ->
          sessionMessage(key, live.agentId(), e);
      case SessionEvent.SESSION_START -> sessionsChanged(new JsonObject().put("sessionKey", key)
          .put("agentId", live.agentId()).put("sessionId", e.sessionId()).put("reason", p.getString("reason", "new"))
          .put("previousSessionId", p.getString("previousSessionId")).put("updatedAt", e.createdAt().toEpochMilli()));
      case SessionEvent.ERROR -> {
        if (run != null) {
          run.errorKind = p.getString("kind");
        }
      }
      case SessionEvent.AGENT_START -> {
        broadcast("agent", agentEvent(runId, live.runSeq(), key, "lifecycle",
            new JsonObject().put("phase", "start").put("startedAt", p.getLong("startedAt", now))), false, c -> c.follows(key));
        sessionsChanged(new JsonObject().put("sessionKey", key).put("sessionId", e.sessionId()).put("reason", "update")
            .put("phase", "start").put("runId", runId));
      }
      case SessionEvent.TEXT_DELTA -> {
        String text = p.getString("text", "");
        if (run != null) {
          run.text = text;
        }
        broadcast("agent", agentEvent(runId, live.runSeq(), key, "assistant",
            new JsonObject().put("text", text).put("delta", p.getString("delta", ""))), true, c -> c.follows(key));
        JsonObject chat = chatEvent(runId, key, live.runSeq(), "delta").put("deltaText", p.getString("delta", ""))
            .put("message", assistantMessage(text, now, null, null));
        if (p.getBoolean("replace", false)) {
          chat.put("replace", true);
        }
        broadcast("chat", chat, true, c -> c.follows(key));
      }
      case SessionEvent.AGENT_END -> agentEnd(live, run, now);
      case SessionEvent.TOOL_CALL, SessionEvent.TOOL_RESULT -> toolEvent(live);
      default -> {
        // error: its kind is remembered above; the terminal mapping happens at agent_end
      }
    }
  }

  private void agentEnd(LiveEvent live, RunView run, long now) {
    SessionEvent e = live.event();
    JsonObject p = e.payload();
    String key = live.sessionKey();
    String runId = e.runId();
    String status = p.getString("status", "ok");
    long seq = live.runSeq();
    boolean failed = status.equals("error") || status.equals("timeout");
    JsonObject life = new JsonObject().put("phase", failed ? "error" : "end")
        .put("startedAt", p.getLong("startedAt", now)).put("endedAt", p.getLong("endedAt", now));
    if (p.getString("stopReason") != null) {
      life.put("stopReason", p.getString("stopReason"));
    }
    if (status.equals("aborted")) {
      life.put("aborted", true);
    }
    if (failed) {
      life.put("error", p.getString("error", status));
    }
    broadcast("agent", agentEvent(runId, seq, key, "lifecycle", life), false, c -> c.follows(key));
    String text = p.getString("text", "");
    switch (status) {
      case "ok" -> {
        if ("webchat".equals(p.getString("delivery"))) {
          // the final reaches webchat through delivery (onWebchatReply)
          if (run != null) {
            run.ended = true;
          }
        } else {
          JsonObject chat = chatEvent(runId, key, seq + 1, "final").put("stopReason", p.getString("stopReason", "stop"));
          if (!text.isEmpty()) {
            chat.put("message", assistantMessage(text, now, p.getString("stopReason"), p.getJsonObject("usage")));
          }
          if (p.getJsonObject("usage") != null) {
            chat.put("usage", p.getJsonObject("usage"));
          }
          broadcast("chat", chat, false, c -> c.follows(key));
          runs.remove(runId);
        }
      }
      case "aborted" -> {
        JsonObject chat = chatEvent(runId, key, seq + 1, "aborted").put("stopReason", "aborted");
        if (!text.isEmpty()) {
          chat.put("message", assistantMessage(text, now, "aborted", null));
        }
        broadcast("chat", chat, false, c -> c.follows(key));
        runs.remove(runId);
      }
      default -> {
        String message = p.getString("error") == null || p.getString("error").isBlank()
            ? "the run failed" : p.getString("error");
        // the kind the run ended with, else the one its error event named, else from the status
        String kind = isErrorKind(p.getString("errorKind")) ? p.getString("errorKind")
            : run != null && isErrorKind(run.errorKind) ? run.errorKind
            : status.equals("timeout") ? "timeout" : "unknown";
        JsonObject chat = chatEvent(runId, key, seq + 1, "error").put("errorMessage", message).put("errorKind", kind);
        if (p.getJsonObject("errorDetail") != null) {
          chat.put("errorDetail", p.getJsonObject("errorDetail"));
        }
        if (!text.isEmpty()) {
          chat.put("message", assistantMessage(text, now, "error", null));
        }
        broadcast("chat", chat, false, c -> c.follows(key));
        runs.remove(runId);
      }
    }
    sessionsChanged(new JsonObject().put("sessionKey", key).put("sessionId", e.sessionId()).put("reason", "update")
        .put("phase", failed ? "error" : "end").put("runId", runId));
  }

  /**
   * A tool call or result as an {@code agent} event on the {@code tool} stream, only to sockets that
   * asked for them ({@code caps: ["tool-events"]}).
   */
  private void toolEvent(LiveEvent live) {
    SessionEvent e = live.event();
    JsonObject p = e.payload();
    JsonObject data = new JsonObject().put("toolCallId", p.getString("toolCallId")).put("name", p.getString("name"));
    if (e.type().equals(SessionEvent.TOOL_CALL)) {
      data.put("phase", "start").put("args", p.getValue("args"));
    } else {
      data.put("phase", "result").put("result", p.getValue("result")).put("isError", p.getBoolean("isError", false));
    }
    broadcast("agent", agentEvent(e.runId(), live.runSeq(), live.sessionKey(), "tool", data), true,
        c -> c.caps.contains(TOOL_EVENTS_CAP) && c.follows(live.sessionKey()));
  }

  /** Delivery's hand-over of a webchat reply: this is the run's {@code chat final}. */
  void onWebchatReply(ChannelOutlet.Request request) {
    if (!deliveredObligations.add(request.obligationId())) {
      return; // the same obligation again (a retry after an unknown outcome): show it once
    }
    if (deliveredObligations.size() > MAX_REMEMBERED_DELIVERIES) {
      deliveredObligations.remove(deliveredObligations.iterator().next());
    }
    JsonObject p = request.payload();
    String runId = request.runId();
    RunView run = runs.remove(runId);
    long seq = run == null ? 0 : run.lastSeq + 1;
    String text = p.getString("text", "");
    String key = p.getString("sessionKey");
    JsonObject chat = chatEvent(runId, key, seq, "final")
        .put("stopReason", p.getString("stopReason", "stop"));
    if (!text.isEmpty()) {
      chat.put("message", assistantMessage(text, p.getLong("timestamp", System.currentTimeMillis()),
          p.getString("stopReason"), p.getJsonObject("usage")));
    }
    if (p.getJsonObject("usage") != null) {
      chat.put("usage", p.getJsonObject("usage"));
    }
    broadcast("chat", chat, false, c -> c.follows(key));
  }

  /** A stored transcript row, to the sockets subscribed to its session. */
  void sessionMessage(String sessionKey, String agentId, SessionEvent e) {
    JsonObject message = Messages.of(e);
    if (message == null) {
      return;
    }
    JsonObject payload = new JsonObject().put("sessionKey", sessionKey).put("agentId", agentId)
        .put("sessionId", e.sessionId()).put("message", message).put("messageSeq", e.seq())
        .put("deltaCursor", ChatMethods.cursor(e.sessionId(), e.seq()))
        .put("updatedAt", e.createdAt().toEpochMilli());
    if (e.runId() != null) {
      payload.put("runId", e.runId());
    }
    if (message.getString("messageId") != null) {
      payload.put("messageId", message.getString("messageId"));
    }
    broadcast("session.message", payload, false, c -> c.messageSubscriptions.contains(sessionKey));
  }

  private RunView track(String runId, String key, String sessionId) {
    RunView v = runs.get(runId);
    if (v == null) {
      v = new RunView(runId, key, sessionId);
      runs.put(runId, v);
      if (runs.size() > MAX_TRACKED_RUNS) {
        runs.remove(runs.keySet().iterator().next());
      }
    }
    return v;
  }

  static JsonObject chatEvent(String runId, String sessionKey, long seq, String state) {
    return new JsonObject().put("runId", runId).put("sessionKey", sessionKey).put("seq", seq).put("state", state);
  }

  private static JsonObject agentEvent(String runId, long seq, String sessionKey, String stream, JsonObject data) {
    return new JsonObject().put("runId", runId).put("seq", seq).put("stream", stream)
        .put("ts", System.currentTimeMillis()).put("data", data).put("sessionKey", sessionKey);
  }

  static JsonObject assistantMessage(String text, long ts, String stopReason, JsonObject usage) {
    JsonObject m = new JsonObject().put("role", "assistant")
        .put("content", new JsonArray().add(new JsonObject().put("type", "text").put("text", text)))
        .put("timestamp", ts);
    if (stopReason != null) {
      m.put("stopReason", stopReason);
    }
    if (usage != null) {
      m.put("usage", usage);
    }
    return m;
  }
}
