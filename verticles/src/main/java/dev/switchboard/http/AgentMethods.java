package dev.switchboard.http;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/** Agent methods: {@code agent.inspect} (what the model would see for a session). */
final class AgentMethods {
  private AgentMethods() {
  }

  static void register(MethodTable t, ProtocolServer s, AgentViews views) {
    t.add("agent.inspect", Scopes.ADMIN, c -> inspect(s, c, views));
  }

  /**
   * Params {@code {sessionKey, agentId?}} → the system prompt, earlier messages, tool schemas, the
   * provider request body and token estimates the next turn of that session would send.
   */
  private static Future<JsonObject> inspect(ProtocolServer s, MethodCall c, AgentViews views) {
    String key = ChatMethods.sessionKey(s, c, "sessionKey", true);
    return views.context(key);
  }
}
