package dev.switchboard.http;

import dev.switchboard.channels.webchat.WebchatChannel;
import dev.switchboard.lanes.LaneAddresses;
import dev.switchboard.routing.SessionKeys;
import dev.switchboard.routing.SessionSource;
import dev.switchboard.store.Ids;
import dev.switchboard.store.Session;
import dev.switchboard.workspace.WorkspaceConfig;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.UUID;

/** Session methods: list, describe, resolve, subscriptions, reset, delete and create. */
final class SessionMethods {
  private SessionMethods() {
  }

  static void register(MethodTable t, ProtocolServer s) {
    t.add("sessions.list", Scopes.READ, c -> list(s, c));
    t.add("sessions.describe", Scopes.READ, c -> describe(s, c));
    t.add("sessions.resolve", Scopes.READ, c -> resolve(s, c));
    t.add("sessions.subscribe", Scopes.READ, c -> subscribe(s, c));
    t.add("sessions.messages.subscribe", Scopes.READ, c -> messages(s, c, true));
    t.add("sessions.messages.unsubscribe", Scopes.READ, c -> messages(s, c, false));
    t.add("sessions.reset", Scopes.ADMIN, c -> reset(s, c));
    t.add("sessions.delete", Scopes.ADMIN, c -> delete(s, c));
    t.add("sessions.create", Scopes.WRITE, c -> create(s, c));
  }

  private static Future<JsonObject> list(ProtocolServer s, MethodCall c) {
    int limit = c.integer("limit", 50, 1, 500);
    int offset = c.integer("offset", 0, 0, Integer.MAX_VALUE);
    String agentId = c.string("agentId", false, 128);
    String search = c.string("search", false, 200);
    WorkspaceConfig ws = s.workspace();
    if (agentId != null && ws.agent(agentId) == null) {
      throw c.invalid("unknown agent \"" + agentId + "\"");
    }
    if (search != null && !search.isBlank()) {
      // a search also finds sessions that /new or /reset replaced (rows carry their state)
      return s.sessions().search(agentId, search, limit, offset).map(page -> {
        JsonArray rows = new JsonArray();
        page.forEach(x -> rows.add(Messages.row(x, ws)));
        return new JsonObject().put("ts", System.currentTimeMillis()).put("path", "sessions").put("count", page.size())
            .put("limitApplied", limit).put("hasMore", page.size() == limit)
            .put("nextOffset", page.size() == limit ? offset + limit : null)
            .put("defaults", Messages.defaults(ws)).put("sessions", rows);
      });
    }
    return Future.all(s.sessions().heads(agentId, limit, offset), s.sessions().countHeads(agentId)).map(all -> {
      JsonArray rows = new JsonArray();
      List<Session> page = all.resultAt(0);
      page.forEach(x -> rows.add(Messages.row(x, ws)));
      int total = all.resultAt(1);
      boolean more = offset + page.size() < total;
      return new JsonObject().put("ts", System.currentTimeMillis()).put("path", "sessions")
          .put("count", page.size()).put("totalCount", total).put("limitApplied", limit)
          .put("nextOffset", more ? offset + page.size() : null).put("hasMore", more)
          .put("defaults", Messages.defaults(ws)).put("sessions", rows);
    });
  }

  private static Future<JsonObject> describe(ProtocolServer s, MethodCall c) {
    String key = ChatMethods.sessionKey(s, c, "key", true);
    return s.sessions().head(key).compose(x -> x == null
        ? Future.succeededFuture(new JsonObject().putNull("session"))
        : s.sessions().participants(x.id()).map(people -> new JsonObject().put("session",
            Messages.row(x, s.workspace()).put("participants", new JsonArray(people))
                .put("source", x.source()).put("workingMemory", x.workingMemory()))));
  }

  /** Deletes the current session of a direct key with its transcript; group sessions are kept. */
  private static Future<JsonObject> delete(ProtocolServer s, MethodCall c) {
    String key = ChatMethods.sessionKey(s, c, "key", true);
    // the lane owns the session behind a key (and knows whether it runs): it deletes
    return s.bus().request(LaneAddresses.DELETE, new JsonObject().put("sessionKey", key), 15_000).map(r -> {
      s.sessionsChanged(new JsonObject().put("sessionKey", key).put("sessionId", r.getString("sessionId"))
          .put("reason", "delete"));
      return new JsonObject().put("ok", true).put("deleted", true).put("key", key).put("sessionId", r.getString("sessionId"));
    });
  }

  /**
   * Finds a session by {@code sessionId} or {@code key}. Sessions carry no labels or short ids yet,
   * so those lookups find nothing. {@code allowMissing} resolves a key that has no session yet.
   */
  private static Future<JsonObject> resolve(ProtocolServer s, MethodCall c) {
    String sessionId = c.string("sessionId", false, 128);
    String rawKey = c.string("key", false, SessionKeys.MAX_LENGTH);
    String label = c.string("label", false, 512);
    String shortId = c.string("shortId", false, 128);
    boolean allowMissing = c.bool("allowMissing", false);
    c.string("slugHint", false, 512);
    c.bool("includeGlobal", false);
    if (sessionId != null && !sessionId.isEmpty()) {
      return s.sessions().find(sessionId).map(x -> x == null ? notFound() : resolved(s, x));
    }
    if (rawKey != null && !rawKey.isBlank()) {
      String key = ChatMethods.sessionKey(s, c, "key", true);
      String agentId = SessionKeys.agentOf(key);
      if (s.workspace().agent(agentId) == null) {
        return Future.succeededFuture(notFound());
      }
      return s.sessions().head(key).map(x -> x != null ? resolved(s, x)
          : allowMissing ? new JsonObject().put("ok", true).put("key", key).put("agentId", agentId)
              .put("displayName", Messages.displayName(key)) : notFound());
    }
    if (label != null || shortId != null) {
      return Future.succeededFuture(notFound());
    }
    throw c.invalid("one of key, sessionId, label or shortId is required");
  }

  private static JsonObject resolved(ProtocolServer s, Session x) {
    return new JsonObject().put("ok", true).put("key", x.sessionKey()).put("agentId", x.agentId())
        .put("displayName", Messages.row(x, s.workspace()).getString("displayName"));
  }

  private static JsonObject notFound() {
    return new JsonObject().put("ok", false);
  }

  private static Future<JsonObject> subscribe(ProtocolServer s, MethodCall c) {
    c.connection.sessionsSubscribed = true;
    if (c.params.isEmpty()) {
      return Future.succeededFuture(new JsonObject().put("subscribed", true));
    }
    return list(s, c).map(l -> new JsonObject().put("subscribed", true).put("list", l));
  }

  private static Future<JsonObject> messages(ProtocolServer s, MethodCall c, boolean on) {
    String key = ChatMethods.sessionKey(s, c, "key", true);
    if (on) {
      c.connection.messageSubscriptions.add(key);
    } else {
      c.connection.messageSubscriptions.remove(key);
    }
    return Future.succeededFuture(new JsonObject().put("subscribed", on).put("key", key));
  }

  /**
   * A fresh transcript under the same key, exactly as typing {@code /reset} or {@code /new} does:
   * the session's lane rolls the session id, marks the old session inactive (still listed and
   * searchable), checkpoints it, and announces the new one ({@code sessions.changed} with the
   * reason). A running turn is not waited for.
   */
  private static Future<JsonObject> reset(ProtocolServer s, MethodCall c) {
    String key = ChatMethods.sessionKey(s, c, "key", true);
    String reason = c.string("reason", false, 16);
    if (reason != null && !reason.equals("new") && !reason.equals("reset")) {
      throw c.invalid("'reason' must be new or reset");
    }
    String agentId = SessionKeys.agentOf(key);
    if (s.workspace().agent(agentId) == null) {
      throw c.invalid("unknown agent \"" + agentId + "\" in session key");
    }
    return s.webchat().submit(new WebchatChannel.Message(key, agentId, "/" + (reason == null ? "reset" : reason),
            UUID.randomUUID().toString(), "operator:" + c.connection.clientId, c.connection.clientId, null,
            c.connection.clientMode))
        .compose(r -> s.sessions().find(r.getString("sessionId", "")))
        .map(x -> {
          if (x == null) {
            throw ProtocolError.unavailable("the session was not reset", 1_000L);
          }
          return new JsonObject().put("ok", true).put("key", key).put("entry", entry(x));
        });
  }

  /**
   * A new session under a new key ({@code /new} in the TUI, "New" on the webchat page). An existing
   * key is refused: replacing a session's transcript is {@code sessions.reset}, which needs admin.
   * With {@code message}, the first turn starts at once.
   */
  private static Future<JsonObject> create(ProtocolServer s, MethodCall c) {
    String raw = c.string("key", false, SessionKeys.MAX_LENGTH);
    String agentId = ChatMethods.agentId(s, c);
    String message = c.string("message", false, Integer.MAX_VALUE);
    String idem = c.string("idempotencyKey", false, ChatMethods.MAX_IDEMPOTENCY_KEY);
    c.string("parentSessionKey", false, SessionKeys.MAX_LENGTH);
    c.bool("succeedsParent", false);
    String key;
    try {
      key = SessionKeys.canonical(raw == null || raw.isBlank() ? "s-" + Ids.next() : raw, agentId,
          s.workspace().session().mainKey());
    } catch (IllegalArgumentException e) {
      throw c.invalid(e.getMessage());
    }
    String keyAgent = SessionKeys.agentOf(key);
    if (s.workspace().agent(keyAgent) == null) {
      throw c.invalid("unknown agent \"" + keyAgent + "\" in session key");
    }
    boolean withMessage = message != null && !message.isBlank();
    String runId = idem == null || idem.isEmpty() ? UUID.randomUUID().toString() : idem;
    JsonObject source = SessionSource.operator(c.connection.clientMode, WebchatChannel.CHANNEL, key,
        withMessage ? runId : null);
    return s.sessions().head(key).compose(existing -> {
      if (existing != null) {
        return Future.failedFuture(ProtocolError.invalidParams("sessions.create", "session already exists: " + key));
      }
      return s.sessions().open(key, keyAgent, source, new JsonObject());
    }).compose(x -> {
      s.sessionsChanged(new JsonObject().put("sessionKey", key).put("agentId", keyAgent).put("sessionId", x.id())
          .put("reason", "new").put("updatedAt", x.lastActivityAt().toEpochMilli()));
      JsonObject out = new JsonObject().put("ok", true).put("key", key).put("sessionId", x.id()).put("entry", entry(x));
      if (!withMessage) {
        return Future.succeededFuture(out);
      }
      return s.webchat().submit(new WebchatChannel.Message(key, keyAgent, message, runId,
              "operator:" + c.connection.clientId, c.connection.clientId, null, c.connection.clientMode))
          .map(r -> out.put("runStarted", true).put("runId", r.getString("runId", runId)));
    });
  }

  private static JsonObject entry(Session x) {
    return new JsonObject().put("sessionId", x.id()).put("updatedAt", x.lastActivityAt().toEpochMilli());
  }
}
