package dev.switchboard.lanes;

import dev.switchboard.delivery.ReplyTarget;
import io.vertx.core.json.JsonObject;

/**
 * A message for a session's lane, as routing hands it over.
 *
 * @param runId      the turn's id (a client's idempotency key, or generated)
 * @param inboundId  the stored inbound row it came from
 * @param sessionKey the lane it belongs to
 * @param sessionId  the session it is appended to
 * @param text       the user message as the model sees it (reply context and notes included)
 * @param rawText    the message as the user wrote it
 * @param sender     {@code {id, name, owner, operator}}
 * @param replyTo    where the reply goes
 * @param queueMode  {@code followup | collect | interrupt | steer}: what happens when the lane is busy
 * @param trigger    false: store the message without running a turn (an unmentioned group message)
 * @param background a background turn (cron, heartbeat, subagent): it never takes an interactive slot
 * @param command    {@code stop | new | reset | status | sethome} for commands that bypass the queue, else null
 * @param source     the session's source, used when this message opens the session
 * @param metadata   channel facts merged into the session's metadata
 * @param resumed    its user message may already be stored: routed again after a restart, or a steer
 *                   message stored on arrival that its turn never took
 * @param shared     one of several agents' runs for the same inbound message (a broadcast group): the
 *                   message is finished only when every agent's share is
 */
public record TurnRequest(String runId, String inboundId, String sessionKey, String sessionId, String agentId,
    String text, String rawText, JsonObject sender, ReplyTarget replyTo, String queueMode, boolean trigger,
    boolean background, String command, long receivedAt, JsonObject source, JsonObject metadata, boolean resumed,
    boolean shared) {

  public TurnRequest {
    source = source == null ? new JsonObject() : source;
    metadata = metadata == null ? new JsonObject() : metadata;
  }

  public JsonObject toJson() {
    return new JsonObject().put("runId", runId).put("inboundId", inboundId).put("sessionKey", sessionKey)
        .put("sessionId", sessionId).put("agentId", agentId).put("text", text).put("rawText", rawText)
        .put("sender", sender).put("replyTo", replyTo.toJson()).put("queueMode", queueMode).put("trigger", trigger)
        .put("background", background).put("command", command).put("receivedAt", receivedAt).put("source", source)
        .put("metadata", metadata).put("resumed", resumed).put("shared", shared);
  }

  public static TurnRequest fromJson(JsonObject j) {
    return new TurnRequest(j.getString("runId"), j.getString("inboundId"), j.getString("sessionKey"),
        j.getString("sessionId"), j.getString("agentId"), j.getString("text", ""), j.getString("rawText"),
        j.getJsonObject("sender", new JsonObject()), ReplyTarget.fromJson(j.getJsonObject("replyTo")),
        j.getString("queueMode", "followup"), j.getBoolean("trigger", true), j.getBoolean("background", false),
        j.getString("command"), j.getLong("receivedAt", 0L), j.getJsonObject("source"), j.getJsonObject("metadata"),
        j.getBoolean("resumed", false), j.getBoolean("shared", false));
  }

  public TurnRequest withText(String newText) {
    return new TurnRequest(runId, inboundId, sessionKey, sessionId, agentId, newText, rawText, sender, replyTo,
        queueMode, trigger, background, command, receivedAt, source, metadata, resumed, shared);
  }

  public TurnRequest withSession(String newSessionId) {
    return new TurnRequest(runId, inboundId, sessionKey, newSessionId, agentId, text, rawText, sender, replyTo,
        queueMode, trigger, background, command, receivedAt, source, metadata, resumed, shared);
  }

  /** The same request, marked as one whose user message may already be stored. */
  public TurnRequest asResumed() {
    return new TurnRequest(runId, inboundId, sessionKey, sessionId, agentId, text, rawText, sender, replyTo,
        queueMode, trigger, background, command, receivedAt, source, metadata, true, shared);
  }
}
