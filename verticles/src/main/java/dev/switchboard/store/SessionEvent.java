package dev.switchboard.store;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * One entry of a session's append-only log.
 *
 * @param seq     position in the session, from 1, without gaps; 0 for live-only events
 *                ({@code text_delta}) that are published but not stored
 * @param type    see the constants
 * @param runId   the run (turn) it belongs to, if any
 */
public record SessionEvent(String sessionId, long seq, String type, String runId, JsonObject payload,
    Instant createdAt) {

  /** First event of a session that replaced another under the same key ({@code /new}, {@code /reset}). */
  public static final String SESSION_START = "session_start";
  public static final String USER_MESSAGE = "user_message";
  public static final String AGENT_START = "agent_start";
  public static final String TEXT_DELTA = "text_delta";
  public static final String TOOL_CALL = "tool_call";
  public static final String TOOL_RESULT = "tool_result";
  public static final String TEXT_FINAL = "text_final";
  public static final String ASSISTANT_NOTE = "assistant_note";
  public static final String ERROR = "error";
  public static final String AGENT_END = "agent_end";
  /**
   * The history was compacted (the model's context overflowed): {@code {entryId, throughSeq, summary,
   * droppedMessages}}. From then on the model sees messages up to {@code throughSeq} only through the
   * summary; the messages themselves stay in the log.
   */
  public static final String COMPACTION = "compaction";

  public JsonObject toJson() {
    return new JsonObject().put("sessionId", sessionId).put("seq", seq).put("type", type)
        .put("runId", runId).put("payload", payload).put("createdAt", createdAt.toEpochMilli());
  }

  public static SessionEvent fromJson(JsonObject j) {
    return new SessionEvent(j.getString("sessionId"), j.getLong("seq", 0L), j.getString("type"),
        j.getString("runId"), j.getJsonObject("payload", new JsonObject()),
        Instant.ofEpochMilli(j.getLong("createdAt", 0L)));
  }

  /** A not-yet-stored event: the store assigns seq and session. */
  public record New(String type, String runId, JsonObject payload) {
  }
}
