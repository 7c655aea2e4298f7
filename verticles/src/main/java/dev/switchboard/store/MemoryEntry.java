package dev.switchboard.store;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * A fact an agent keeps across sessions.
 *
 * @param kind {@code fact | preference | note | checkpoint}
 */
public record MemoryEntry(String id, String agentId, String kind, String text, JsonArray tags,
    String sourceSessionId, Instant createdAt, Instant updatedAt) {

  public JsonObject toJson() {
    return new JsonObject().put("id", id).put("agentId", agentId).put("kind", kind).put("text", text)
        .put("tags", tags).put("sourceSessionId", sourceSessionId)
        .put("createdAt", createdAt.toEpochMilli()).put("updatedAt", updatedAt.toEpochMilli());
  }
}
