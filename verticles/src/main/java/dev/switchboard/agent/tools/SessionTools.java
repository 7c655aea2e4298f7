package dev.switchboard.agent.tools;

import dev.switchboard.agent.AgentAddresses;
import dev.switchboard.agent.SessionSendRequest;
import dev.switchboard.agent.ToolContext;
import dev.switchboard.agent.ToolSpec;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.Session;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.store.SessionStore;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.WorkspaceBus;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Locale;

/**
 * {@code sessions_list}, {@code session_history} and {@code session_send}. Who may see what: a turn
 * started by an owner (an operator or a configured owner) reaches every session of the workspace;
 * any other sender's turn reaches only its own session, so an agent can never be talked into reading
 * one person's conversation to another.
 */
final class SessionTools {
  static final long SEND_OVERHEAD_MS = 10_000;
  static final int MAX_MESSAGE = 8_000;
  private static final JsonObject KEY = new JsonObject().put("type", "string")
      .put("description", "a key from sessions_list");

  private SessionTools() {
  }

  private static boolean visible(ToolContext ctx, Session s) {
    return s != null && (ctx.senderOwner() || s.id().equals(ctx.sessionId()));
  }

  private static String key(JsonObject args) {
    return Args.requiredString(args, "sessionKey", 512).toLowerCase(Locale.ROOT);
  }

  static Tool list(SessionStore sessions) {
    ToolSpec spec = new ToolSpec("sessions_list", "List recent sessions (conversations) you can see.",
        Args.schema(new JsonObject().put("limit", Args.INTEGER)));
    return Tool.of(spec, (ctx, toolCallId, args) -> {
      int limit = Args.integer(args, "limit", 10, 1, 50);
      Future<List<Session>> found = ctx.senderOwner() ? sessions.heads(null, limit, 0)
          : sessions.find(ctx.sessionId()).map(s -> s == null ? List.of() : List.of(s));
      return found.map(list -> {
        StringBuilder sb = new StringBuilder();
        for (Session s : list) {
          sb.append("- ").append(s.sessionKey()).append(s.id().equals(ctx.sessionId()) ? " (this session)" : "")
              .append(" | agent ").append(s.agentId()).append(" | ").append(s.messageCount()).append(" messages | ")
              .append(s.lastActivityAt().toString(), 0, 16).append('Z');
          if (s.lastPreview() != null) {
            sb.append(" | last: ").append(Args.clip(s.lastPreview(), 80));
          }
          sb.append('\n');
        }
        return list.isEmpty() ? "No sessions." : sb.toString().stripTrailing();
      });
    });
  }

  static Tool history(SessionStore sessions, EventStore events) {
    ToolSpec spec = new ToolSpec("session_history", "Read the latest messages of a session.",
        Args.schema(new JsonObject().put("sessionKey", KEY).put("limit", Args.INTEGER), "sessionKey"));
    return Tool.of(spec, (ctx, toolCallId, args) -> {
      String key = key(args);
      int limit = Args.integer(args, "limit", 20, 1, 50);
      return sessions.head(key).compose(s -> {
        if (!visible(ctx, s)) {
          throw new ToolError("no session \"" + key + "\" that you can see");
        }
        return events.messages(s.id(), limit);
      }).map(list -> {
        StringBuilder sb = new StringBuilder();
        for (SessionEvent e : list) {
          String text = e.payload().getString("text", "");
          if (text.isEmpty()) {
            continue;
          }
          sb.append(e.type().equals(SessionEvent.USER_MESSAGE) ? "user: " : "assistant: ")
              .append(Args.clip(text, 2_000)).append('\n');
        }
        return sb.length() == 0 ? "The session has no messages yet." : sb.toString().stripTrailing();
      });
    });
  }

  static Tool send(WorkspaceBus bus) {
    ToolSpec spec = new ToolSpec("session_send", "Post a message into another session; its agent answers"
        + " there. waitSeconds > 0 waits for that answer.", Args.schema(new JsonObject().put("sessionKey", KEY)
            .put("message", Args.STRING).put("waitSeconds", Args.INTEGER), "sessionKey", "message"));
    // the tool call id makes the request idempotent: the same call delivered twice posts one message
    return Tool.of(spec, (ctx, toolCallId, args) -> send(bus, ctx, toolCallId, args));
  }

  private static Future<String> send(WorkspaceBus bus, ToolContext ctx, String toolCallId, JsonObject args) {
    String key = key(args);
    String message = Args.requiredString(args, "message", MAX_MESSAGE);
    int waitSeconds = Args.integer(args, "waitSeconds", 0, 0, 120);
    if (key.equals(ctx.sessionKey())) {
      throw new ToolError("this is your own session; answer here instead");
    }
    SessionSendRequest req = new SessionSendRequest(ctx.sessionKey(), ctx.sessionId(), ctx.agentId(), ctx.runId(),
        toolCallId, ctx.senderOwner(), key, message, waitSeconds * 1000L);
    return bus.request(AgentAddresses.SESSION_SEND, req.toJson(), waitSeconds * 1000L + SEND_OVERHEAD_MS)
        .recover(err -> {
          int code = BusFailure.codeOf(err);
          if (code == BusFailure.NOT_FOUND || code == BusFailure.BAD_REQUEST || code == BusFailure.FORBIDDEN) {
            return Future.failedFuture(new ToolError(err.getMessage()));
          }
          return Future.failedFuture(err);
        })
        .map(reply -> {
          String status = reply.getString("status", "started");
          StringBuilder sb = new StringBuilder("Posted to ").append(reply.getString("sessionKey", key))
              .append(" (run ").append(reply.getString("runId")).append(", ").append(status).append(").");
          if (reply.getString("reply") != null) {
            sb.append(" Reply: ").append(Args.clip(reply.getString("reply"), 4_000));
          } else if (waitSeconds > 0) {
            sb.append(" No reply within ").append(waitSeconds).append(" s; it will appear in that session.");
          }
          return sb.toString();
        });
  }
}
