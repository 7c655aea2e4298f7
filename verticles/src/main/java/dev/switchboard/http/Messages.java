package dev.switchboard.http;

import dev.switchboard.store.Session;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.workspace.AgentConfig;
import dev.switchboard.workspace.WorkspaceConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** The display shapes clients read: transcript messages and session rows. */
final class Messages {
  private Messages() {
  }

  /** A transcript message for a stored event, or null for events that are not messages (or empty replies). */
  static JsonObject of(SessionEvent e) {
    JsonObject p = e.payload();
    String text = p.getString("text", "");
    JsonObject m;
    switch (e.type()) {
      case SessionEvent.USER_MESSAGE -> m = new JsonObject().put("role", "user");
      case SessionEvent.TEXT_FINAL, SessionEvent.ASSISTANT_NOTE -> {
        if (text.isEmpty()) {
          return null; // a silent reply is stored but shows nothing
        }
        m = new JsonObject().put("role", "assistant");
      }
      default -> {
        return null;
      }
    }
    m.put("content", new JsonArray().add(new JsonObject().put("type", "text").put("text", text)))
        .put("timestamp", e.createdAt().toEpochMilli())
        .put("seq", e.seq());
    if (e.runId() != null) {
      m.put("runId", e.runId());
    }
    if (e.type().equals(SessionEvent.TEXT_FINAL)) {
      m.put("stopReason", p.getString("stopReason", "stop"));
      if (p.getJsonObject("usage") != null) {
        m.put("usage", p.getJsonObject("usage"));
      }
      if (p.getString("provider") != null) {
        m.put("provider", p.getString("provider")).put("model", p.getString("model"));
      }
    }
    if (e.type().equals(SessionEvent.ASSISTANT_NOTE)) {
      if (p.getString("messageId") != null) {
        m.put("messageId", p.getString("messageId"));
      }
      if (p.getString("label") != null) {
        m.put("label", p.getString("label"));
      }
    }
    return m;
  }

  /** A {@code sessions.list} row. */
  static JsonObject row(Session s, WorkspaceConfig ws) {
    AgentConfig agent = ws.agent(s.agentId());
    JsonObject row = new JsonObject()
        .put("key", s.sessionKey())
        .put("sessionId", s.id())
        .put("kind", "direct".equals(s.type()) ? "direct" : "group")
        .put("agentId", s.agentId())
        .put("displayName", s.description() != null ? s.description() : displayName(s.sessionKey()))
        .put("createdAt", s.createdAt().toEpochMilli())
        .put("updatedAt", s.lastActivityAt().toEpochMilli())
        .put("messageCount", s.messageCount())
        .put("turnCount", s.turnCount())
        .put("state", s.status());
    if (s.status().equals(Session.RUNNING)) {
      row.put("status", "running");
    }
    if (s.lastPreview() != null) {
      row.put("lastMessagePreview", s.lastPreview());
    }
    if (agent != null) {
      row.put("model", agent.model().model()).put("modelProvider", agent.model().provider());
    }
    return row;
  }

  static String displayName(String key) {
    String[] parts = key.split(":", 3);
    return parts.length == 3 ? parts[2] : key;
  }

  /** Defaults block shared by history and list answers. */
  static JsonObject defaults(WorkspaceConfig ws) {
    AgentConfig a = ws.defaultAgent();
    return new JsonObject().put("modelProvider", a.model().provider()).put("model", a.model().model());
  }
}
