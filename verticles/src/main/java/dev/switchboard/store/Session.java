package dev.switchboard.store;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * A durable conversation thread, as stored.
 *
 * @param source   where it came from: {@code {kind: cli|api|channel|schedule, interactive, platform,
 *                 triggerId, type: direct|group}}
 * @param status   {@code idle | running | awaiting_approval | inactive}
 * @param lastSeq  the seq of its newest event
 */
public record Session(
    String id,
    String sessionKey,
    String agentId,
    String status,
    JsonObject source,
    JsonObject metadata,
    Instant createdAt,
    Instant lastActivityAt,
    long lastSeq,
    int messageCount,
    int turnCount,
    String description,
    String descriptionSource,
    String lastPreview,
    String workingMemory) {

  public static final String IDLE = "idle";
  public static final String RUNNING = "running";
  public static final String AWAITING_APPROVAL = "awaiting_approval";
  public static final String INACTIVE = "inactive";

  public boolean isDirect() {
    return "direct".equals(type());
  }

  /** {@code direct} or {@code group}, from the source (operator sessions are direct). */
  public String type() {
    return source.getString("type", "direct");
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("id", id)
        .put("sessionKey", sessionKey)
        .put("agentId", agentId)
        .put("status", status)
        .put("source", source)
        .put("metadata", metadata)
        .put("createdAt", createdAt.toEpochMilli())
        .put("lastActivityAt", lastActivityAt.toEpochMilli())
        .put("lastSeq", lastSeq)
        .put("messageCount", messageCount)
        .put("turnCount", turnCount)
        .put("description", description)
        .put("descriptionSource", descriptionSource)
        .put("lastPreview", lastPreview)
        .put("workingMemory", workingMemory);
  }

  public static Session fromJson(JsonObject j) {
    return new Session(j.getString("id"), j.getString("sessionKey"), j.getString("agentId"),
        j.getString("status"), j.getJsonObject("source", new JsonObject()),
        j.getJsonObject("metadata", new JsonObject()),
        Instant.ofEpochMilli(j.getLong("createdAt")), Instant.ofEpochMilli(j.getLong("lastActivityAt")),
        j.getLong("lastSeq", 0L), j.getInteger("messageCount", 0), j.getInteger("turnCount", 0),
        j.getString("description"), j.getString("descriptionSource"), j.getString("lastPreview"),
        j.getString("workingMemory"));
  }
}
