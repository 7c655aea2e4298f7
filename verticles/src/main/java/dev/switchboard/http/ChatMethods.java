package dev.switchboard.http;

import dev.switchboard.channels.webchat.WebchatChannel;
import dev.switchboard.delivery.DeliveryAddresses;
import dev.switchboard.delivery.ReplyTarget;
import dev.switchboard.delivery.Targets;
import dev.switchboard.lanes.LaneAddresses;
import dev.switchboard.routing.SessionKeys;
import dev.switchboard.store.Ids;
import dev.switchboard.store.Session;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.workspace.RoutingRules;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.AgentConfig;
import dev.switchboard.workspace.WorkspaceConfig;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.regex.Pattern;

/** Chat methods: send, history, abort, inject, and the agent run with its wait. */
final class ChatMethods {
  static final int MAX_IDEMPOTENCY_KEY = 256;
  static final int DEFAULT_HISTORY = 200;
  static final int MAX_HISTORY = 1000;
  /** Longest text per message in a history answer (clients may ask for less with {@code maxChars}). */
  static final int MAX_MESSAGE_CHARS = 500_000;
  /** Largest history answer, in bytes of messages; older messages are left out beyond it. */
  static final long HISTORY_BUDGET_BYTES = 6L * 1024 * 1024;
  /** Most stored events a cursor catch-up covers; a larger gap answers {@code reset}. */
  static final int MAX_DELTA_EVENTS = 2000;

  private static final Pattern RESET_COMMAND = Pattern.compile("(?i)^/(new|reset)(\\s|$)");
  private static final long BUS_TIMEOUT_MS = 15_000;

  private ChatMethods() {
  }

  static void register(MethodTable t, ProtocolServer s) {
    t.add("chat.send", Scopes.WRITE, c -> send(s, c));
    t.add("chat.history", Scopes.READ, c -> history(s, c));
    t.add("chat.abort", Scopes.WRITE, c -> abort(s, c));
    t.add("chat.inject", Scopes.ADMIN, c -> inject(s, c));
    t.add("agent", p -> p.getValue("message") instanceof String m && RESET_COMMAND.matcher(m.strip()).find()
        ? Scopes.ADMIN : Scopes.WRITE, c -> agent(s, c));
    t.add("agent.wait", Scopes.WRITE, c -> agentWait(s, c));
    t.add("send", Scopes.ADMIN, c -> sendTo(s, c));
  }

  /**
   * Delivers a message to a chat that is not the caller's: an explicit target
   * ({@code <channel>:<chat>[:<thread>]}, {@code <channel>:<account>:<chat>[:<thread>]}) or a home chat
   * ({@code home:<channel>[:<account>]}). Durable like any reply; one message per idempotency key.
   * With {@code delivery.mirror} on, the text is also stored in that chat's session.
   */
  private static Future<JsonObject> sendTo(ProtocolServer s, MethodCall c) {
    String to = c.string("to", true, 1000);
    String message = c.string("message", true, Integer.MAX_VALUE);
    String idem = c.string("idempotencyKey", true, MAX_IDEMPOTENCY_KEY);
    String peerKind = c.string("peerKind", false, 16);
    if (message.isBlank()) {
      throw c.invalid("'message' must not be blank");
    }
    if (peerKind != null && !RoutingRules.PEER_KINDS.contains(peerKind)) {
      throw c.invalid("'peerKind' must be direct, group or channel");
    }
    WorkspaceConfig ws = s.workspace();
    String channel = to.split(":", 2)[0];
    java.util.Set<String> accounts = new java.util.HashSet<>();
    ws.routing().accounts().stream().filter(a -> a.channel().equals(channel)).forEach(a -> accounts.add(a.id()));
    Targets.Parsed t;
    try {
      t = Targets.parse(to, accounts);
    } catch (IllegalArgumentException e) {
      throw c.invalid(e.getMessage());
    }
    Future<ReplyTarget> target = !t.home()
        ? Future.succeededFuture(new ReplyTarget(t.channel(), t.accountId(), peerKind == null ? "direct" : peerKind,
            t.chat(), t.thread(), null))
        : (t.accountId() == null ? s.homes().anyOf(t.channel()) : s.homes().find(t.channel(), t.accountId()))
            .compose(home -> home == null
                ? Future.failedFuture(ProtocolError.invalid("no home chat is set for " + t.channel()
                    + (t.accountId() == null ? "" : "/" + t.accountId()) + " (send /sethome in that chat)"))
                : Future.succeededFuture(ReplyTarget.fromJson(home)));
    // the target travels as a structured object from here on: the string is parsed only here
    return target.compose(rt -> {
      String explicit = rt.channel() + ":" + rt.accountId() + ":" + rt.peerId() + (rt.threadId() == null ? "" : ":" + rt.threadId());
      JsonObject req = new JsonObject().put("target", rt.toJson()).put("text", message).put("idempotencyKey", idem);
      if (ws.delivery().mirror()) {
        req.put("mirrorSessionKey", SessionKeys.forChat(ws, ws.defaultAgent().id(), rt.channel(), rt.accountId(),
            rt.peerKind(), rt.peerId(), rt.threadId()));
      }
      return s.bus().request(DeliveryAddresses.SEND, req, BUS_TIMEOUT_MS)
          .map(r -> new JsonObject().put("ok", true).put("obligationId", r.getString("obligationId"))
              .put("channel", rt.channel()).put("accountId", rt.accountId()).put("to", explicit)
              .put("target", rt.toJson()).put("mirrorSessionKey", req.getString("mirrorSessionKey")));
    });
  }

  /** The canonical key for a request's {@code sessionKey} (or {@code key}) and optional {@code agentId}. */
  static String sessionKey(ProtocolServer s, MethodCall c, String param, boolean required) {
    String raw = c.string(param, required, SessionKeys.MAX_LENGTH);
    String agentId = agentId(s, c);
    try {
      return SessionKeys.canonical(raw, agentId, s.workspace().session().mainKey());
    } catch (IllegalArgumentException e) {
      throw c.invalid(e.getMessage());
    }
  }

  static String agentId(ProtocolServer s, MethodCall c) {
    String agentId = c.string("agentId", false, 128);
    WorkspaceConfig ws = s.workspace();
    if (agentId == null || agentId.isEmpty()) {
      return ws.defaultAgent().id();
    }
    if (ws.agent(agentId) == null) {
      throw c.invalid("unknown agent \"" + agentId + "\"");
    }
    return agentId;
  }

  private static String queueMode(MethodCall c) {
    String mode = c.string("queueMode", false, 32);
    if (mode != null && !WorkspaceConfig.QUEUE_MODES.contains(mode)) {
      throw c.invalid("queueMode must be one of " + String.join(", ", WorkspaceConfig.QUEUE_MODES));
    }
    return mode;
  }

  private static String sender(MethodCall c) {
    return "operator:" + c.connection.clientId;
  }

  private static Future<JsonObject> send(ProtocolServer s, MethodCall c) {
    String key = sessionKey(s, c, "sessionKey", true);
    String message = c.string("message", true, Integer.MAX_VALUE);
    String idem = c.string("idempotencyKey", true, MAX_IDEMPOTENCY_KEY);
    if (message.isBlank()) {
      throw c.invalid("'message' must not be blank");
    }
    refuseAttachments(c);
    c.connection.sentTo(key);
    return s.webchat().submit(new WebchatChannel.Message(key, SessionKeys.agentOf(key), message, idem,
            sender(c), c.connection.clientId, queueMode(c), c.connection.clientMode))
        .map(r -> {
          String status = r.getString("status", "started");
          if (status.equals("rejected")) {
            throw ProtocolError.invalid("message rejected: " + r.getString("reason", "refused by the access policy"));
          }
          return new JsonObject().put("runId", r.getString("runId", idem)).put("status", status);
        });
  }

  /** Attachments are not accepted yet; dropping them silently would lose what the user sent. */
  private static void refuseAttachments(MethodCall c) {
    JsonArray attachments = c.array("attachments");
    if (attachments != null && !attachments.isEmpty()) {
      throw c.invalid("attachments are not supported by this gateway");
    }
  }

  private static Future<JsonObject> history(ProtocolServer s, MethodCall c) {
    String key = sessionKey(s, c, "sessionKey", true);
    int limit = c.integer("limit", DEFAULT_HISTORY, 1, MAX_HISTORY);
    int maxChars = c.integer("maxChars", MAX_MESSAGE_CHARS, 1, MAX_MESSAGE_CHARS);
    String cursor = c.string("cursor", false, 200);
    WorkspaceConfig ws = s.workspace();
    return s.sessions().head(key).compose(session -> {
      if (session == null) {
        if (cursor != null) {
          return Future.succeededFuture(reset());
        }
        // nothing said yet: an empty transcript (the TUI opens main before anything was said)
        return Future.succeededFuture(new JsonObject().put("sessionKey", key).put("sessionId", Ids.next())
            .put("messages", new JsonArray()).put("thinkingLevel", "off").put("verboseLevel", "off")
            .put("defaults", Messages.defaults(ws)).put("totalMessages", 0).put("hasMore", false)
            .put("sessionInfo", new JsonObject().put("key", key).put("kind", SessionKeys.kindOf(key))
                .put("agentId", SessionKeys.agentOf(key))));
      }
      if (cursor != null) {
        return delta(s, key, session, Cursor.parse(cursor), maxChars);
      }
      return s.events().messages(session.id(), limit).map(list -> {
        JsonArray messages = messages(list, maxChars);
        int dropped = fitBudget(messages);
        // The newest message returned bounds the cursor: a message after it did not exist when the
        // query ran. The session's last seq (read before) is safe too, so take the larger.
        long last = list.isEmpty() ? session.lastSeq() : Math.max(session.lastSeq(), list.get(list.size() - 1).seq());
        JsonObject out = page(s, key, session, messages, last);
        return out.put("totalMessages", session.messageCount())
            .put("hasMore", dropped > 0 || session.messageCount() > messages.size());
      });
    });
  }

  /**
   * What happened after a cursor: {@code {kind: "delta", messages, deltaCursor, ...}}, or
   * {@code {kind: "reset"}} when the cursor is not from this session's current transcript (or
   * from its future), or the gap is too large to send as a delta: the client then reloads.
   */
  private static Future<JsonObject> delta(ProtocolServer s, String key, Session session, Cursor from, int maxChars) {
    if (from == null || !from.sessionId.equals(session.id()) || from.seq > session.lastSeq()) {
      return Future.succeededFuture(reset());
    }
    return s.events().after(session.id(), from.seq, MAX_DELTA_EVENTS + 1).map(list -> {
      if (list.size() > MAX_DELTA_EVENTS) {
        return reset();
      }
      JsonArray messages = messages(list, maxChars);
      if (fitBudget(messages) > 0) {
        return reset();
      }
      long last = list.isEmpty() ? from.seq : list.get(list.size() - 1).seq();
      return new JsonObject().put("kind", "delta").mergeIn(page(s, key, session, messages, last));
    });
  }

  private static JsonObject reset() {
    return new JsonObject().put("kind", "reset");
  }

  private static JsonObject page(ProtocolServer s, String key, Session session, JsonArray messages, long last) {
    WorkspaceConfig ws = s.workspace();
    JsonObject out = new JsonObject().put("sessionKey", key).put("sessionId", session.id()).put("messages", messages)
        .put("thinkingLevel", "off").put("verboseLevel", "off").put("defaults", Messages.defaults(ws))
        .put("sessionInfo", Messages.row(session, ws)).put("deltaCursor", new Cursor(session.id(), last).toString());
    ProtocolServer.RunView run = s.activeRun(key);
    if (run != null) {
      out.put("inFlightRun", new JsonObject().put("runId", run.runId).put("text", run.text));
    }
    return out;
  }

  /** Transcript messages of {@code events}, each text cut to {@code maxChars} (marked {@code truncated}). */
  private static JsonArray messages(List<SessionEvent> events, int maxChars) {
    JsonArray out = new JsonArray();
    for (SessionEvent e : events) {
      JsonObject m = Messages.of(e);
      if (m == null) {
        continue;
      }
      JsonObject block = m.getJsonArray("content").getJsonObject(0);
      String text = block.getString("text", "");
      if (text.length() > maxChars) {
        block.put("text", text.substring(0, maxChars));
        m.put("truncated", true);
      }
      out.add(m);
    }
    return out;
  }

  /** Drops the oldest messages until the rest fit the response budget; returns how many were dropped. */
  private static int fitBudget(JsonArray messages) {
    long total = 0;
    int keep = 0;
    for (int i = messages.size() - 1; i >= 0; i--) {
      long size = ClientConnection.utf8Length(messages.getJsonObject(i).encode());
      if (total + size > HISTORY_BUDGET_BYTES) {
        break;
      }
      total += size;
      keep++;
    }
    int dropped = messages.size() - keep;
    for (int i = 0; i < dropped; i++) {
      messages.remove(0);
    }
    return dropped;
  }

  /** The {@code chat.history} cursor that stands just after event {@code seq} of a session. */
  static String cursor(String sessionId, long seq) {
    return new Cursor(sessionId, seq).toString();
  }

  /** A position in a session's log: {@code <sessionId>:<seq>}. A cursor from another session means "reset". */
  private record Cursor(String sessionId, long seq) {
    static Cursor parse(String s) {
      int i = s.lastIndexOf(':');
      if (i <= 0) {
        return null;
      }
      try {
        long seq = Long.parseLong(s.substring(i + 1));
        return seq < 0 ? null : new Cursor(s.substring(0, i), seq);
      } catch (NumberFormatException e) {
        return null;
      }
    }

    @Override
    public String toString() {
      return sessionId + ":" + seq;
    }
  }

  private static Future<JsonObject> abort(ProtocolServer s, MethodCall c) {
    String key = sessionKey(s, c, "sessionKey", true);
    String runId = c.string("runId", false, MAX_IDEMPOTENCY_KEY);
    c.bool("preserveSideRuns", true);
    JsonObject req = new JsonObject().put("sessionKey", key);
    if (runId != null) {
      req.put("runId", runId);
    }
    return s.bus().request(LaneAddresses.ABORT, req, BUS_TIMEOUT_MS)
        .map(r -> new JsonObject().put("ok", true).put("aborted", r.getBoolean("aborted", false))
            .put("runIds", r.getJsonArray("runIds", new JsonArray())));
  }

  /** An assistant-role note in the transcript without running the model; stored by the session's lane. */
  private static Future<JsonObject> inject(ProtocolServer s, MethodCall c) {
    String key = sessionKey(s, c, "sessionKey", true);
    String message = c.string("message", true, Integer.MAX_VALUE);
    if (message.isBlank()) {
      throw c.invalid("'message' must not be blank");
    }
    String label = c.string("label", false, 100);
    JsonObject req = new JsonObject().put("sessionKey", key).put("text", message).put("label", label);
    return s.bus().request(LaneAddresses.NOTE, req, BUS_TIMEOUT_MS)
        .recover(err -> Future.failedFuture(BusFailure.codeOf(err) == BusFailure.NOT_FOUND
            ? ProtocolError.invalid("session not found") : err))
        .map(r -> {
          String messageId = r.getString("messageId");
          JsonObject note = Messages.of(SessionEvent.fromJson(r.getJsonObject("message")));
          s.broadcast("chat", ProtocolServer.chatEvent("inject-" + messageId, key, 0, "final").put("message", note),
              false, x -> x.follows(key));
          return new JsonObject().put("ok", true).put("messageId", messageId);
        });
  }

  private static Future<JsonObject> agent(ProtocolServer s, MethodCall c) {
    String message = c.string("message", true, Integer.MAX_VALUE);
    String idem = c.string("idempotencyKey", true, MAX_IDEMPOTENCY_KEY);
    if (message.isBlank()) {
      throw c.invalid("'message' must not be blank");
    }
    refuseAttachments(c);
    String key = sessionKey(s, c, "sessionKey", false);
    long timeoutMs = c.integer("timeout", 600, 1, 24 * 3600) * 1000L;
    String agentId = SessionKeys.agentOf(key);
    AgentConfig agent = s.workspace().agent(agentId);
    if (agent == null) {
      throw c.invalid("unknown agent \"" + agentId + "\"");
    }
    long acceptedAt = System.currentTimeMillis();
    c.connection.sentTo(key);
    return s.webchat().submit(new WebchatChannel.Message(key, agentId, message, idem, sender(c),
            c.connection.clientId, queueMode(c), c.connection.clientMode))
        .compose(r -> {
          String runId = r.getString("runId", idem);
          String status = r.getString("status", "started");
          if (status.equals("rejected")) {
            return Future.failedFuture(ProtocolError.invalid("message rejected: "
                + r.getString("reason", "refused by the access policy")));
          }
          if (status.equals("in_flight")) {
            return Future.succeededFuture(new JsonObject().put("runId", runId).put("sessionKey", key)
                .put("agentId", agentId).put("status", "in_flight"));
          }
          if (!status.equals("ok")) {
            // the interim ack; a client waiting for the final keeps the request open on exactly "accepted"
            c.interim(new JsonObject().put("runId", runId).put("sessionKey", key).put("agentId", agentId)
                .put("status", "accepted").put("acceptedAt", acceptedAt));
          }
          return awaitRun(s, runId, timeoutMs)
              .map(outcome -> agentFinal(runId, outcome, r.getString("sessionId"), agent, acceptedAt))
              .recover(err -> Future.failedFuture(ProtocolServer.toProtocolError("agent", err)
                  .withPayload(new JsonObject().put("runId", runId).put("status", "error").put("summary", "failed"))));
        });
  }

  /**
   * The run's outcome within {@code timeoutMs}. The {@code agent} timeout bounds the run itself: a
   * run still going (or still queued) when it expires is aborted and reported as timed out.
   */
  private static Future<JsonObject> awaitRun(ProtocolServer s, String runId, long timeoutMs) {
    return s.bus().request(LaneAddresses.WAIT, new JsonObject().put("runId", runId).put("timeoutMs", timeoutMs),
            timeoutMs + BUS_TIMEOUT_MS)
        .compose(outcome -> {
          if (outcome.getValue("endedAt") != null) {
            return Future.succeededFuture(outcome);
          }
          return s.bus().request(LaneAddresses.ABORT, new JsonObject().put("runId", runId), BUS_TIMEOUT_MS)
              .map(x -> new JsonObject().put("runId", runId).put("status", "timeout").put("stopReason", "timeout"));
        });
  }

  private static JsonObject agentFinal(String runId, JsonObject outcome, String sessionId, AgentConfig agent,
      long acceptedAt) {
    String status = outcome.getString("status", "timeout");
    JsonObject out = new JsonObject().put("runId", runId);
    switch (status) {
      case "ok" -> {
        long started = outcome.getLong("startedAt", acceptedAt);
        out.put("status", "ok").put("summary", "completed").put("result", new JsonObject()
            .put("payloads", new JsonArray().add(new JsonObject().put("text", outcome.getString("text", ""))
                .putNull("mediaUrl")))
            .put("meta", new JsonObject().put("durationMs", outcome.getLong("endedAt", started) - started)
                .put("agentMeta", new JsonObject().put("sessionId", sessionId)
                    .put("provider", agent.model().provider()).put("model", agent.model().model()))));
      }
      case "error" -> out.put("status", "error").put("summary", "failed")
          .put("error", outcome.getString("error", "the run failed"));
      default -> out.put("status", "timeout").put("summary", "aborted")
          .put("stopReason", outcome.getString("stopReason") == null ? status : outcome.getString("stopReason"));
    }
    return out;
  }

  private static Future<JsonObject> agentWait(ProtocolServer s, MethodCall c) {
    String runId = c.string("runId", true, MAX_IDEMPOTENCY_KEY);
    int timeoutMs = c.integer("timeoutMs", 30_000, 0, 600_000);
    return s.bus().request(LaneAddresses.WAIT, new JsonObject().put("runId", runId).put("timeoutMs", timeoutMs),
            timeoutMs + BUS_TIMEOUT_MS)
        .map(o -> {
          JsonObject out = new JsonObject().put("runId", runId).put("status", o.getString("status", "timeout"));
          for (String k : List.of("startedAt", "endedAt", "error", "stopReason", "timeoutPhase", "providerStarted")) {
            if (o.getValue(k) != null) {
              out.put(k, o.getValue(k));
            }
          }
          if ("aborted".equals(out.getString("status"))) {
            out.put("status", "timeout").put("stopReason", o.getString("stopReason", "aborted"));
          }
          return out;
        });
  }
}
