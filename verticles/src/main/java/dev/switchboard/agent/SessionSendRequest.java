package dev.switchboard.agent;

import io.vertx.core.json.JsonObject;

/**
 * A message an agent posts into another session of its workspace ({@code session_send}).
 *
 * @param fromSessionKey the sending session (shown to the receiving agent)
 * @param fromRunId      the sending run; with {@code toolCallId} it makes the request idempotent
 * @param toolCallId     the tool call that sent it
 * @param senderOwner    the person behind the sending turn is an owner (operators are)
 * @param targetSessionKey an existing session key of the same workspace
 * @param waitMs         how long to wait for the target's reply (0: do not wait)
 */
public record SessionSendRequest(String fromSessionKey, String fromSessionId, String fromAgentId, String fromRunId,
    String toolCallId, boolean senderOwner, String targetSessionKey, String text, long waitMs) {

  public JsonObject toJson() {
    return new JsonObject().put("fromSessionKey", fromSessionKey).put("fromSessionId", fromSessionId)
        .put("fromAgentId", fromAgentId).put("fromRunId", fromRunId).put("toolCallId", toolCallId)
        .put("senderOwner", senderOwner).put("targetSessionKey", targetSessionKey).put("text", text)
        .put("waitMs", waitMs);
  }

  public static SessionSendRequest fromJson(JsonObject j) {
    return new SessionSendRequest(j.getString("fromSessionKey"), j.getString("fromSessionId"),
        j.getString("fromAgentId"), j.getString("fromRunId"), j.getString("toolCallId"),
        j.getBoolean("senderOwner", false), j.getString("targetSessionKey"), j.getString("text"),
        j.getLong("waitMs", 0L));
  }
}
