package dev.switchboard.lanes;

import dev.switchboard.store.SessionEvent;
import io.vertx.core.json.JsonObject;

/**
 * A session event as published to live subscribers: the stored event (or a live-only one such as
 * {@code text_delta}) plus the session key and the event's position within its run.
 *
 * @param runSeq per-run counter (0, 1, 2, ...), shared by all of one run's events
 */
public record LiveEvent(String sessionKey, String agentId, long runSeq, SessionEvent event) {

  public JsonObject toJson() {
    return new JsonObject().put("sessionKey", sessionKey).put("agentId", agentId).put("runSeq", runSeq)
        .put("event", event.toJson());
  }

  public static LiveEvent fromJson(JsonObject j) {
    return new LiveEvent(j.getString("sessionKey"), j.getString("agentId"), j.getLong("runSeq", 0L),
        SessionEvent.fromJson(j.getJsonObject("event")));
  }
}
