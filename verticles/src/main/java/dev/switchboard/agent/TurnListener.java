package dev.switchboard.agent;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * What a running turn tells its caller (the lane), in order. The futures let the caller make a step
 * durable before the loop goes on: a tool call is stored before the tool runs, its result before the
 * model sees it, a compaction before the retry that relies on it.
 */
public interface TurnListener {
  /**
   * The turn's answer so far, whole (not a delta). It usually grows; it shrinks when an attempt that
   * had streamed text failed and the answer starts again (show it as a replacement).
   */
  void onText(String text);

  Future<Void> onToolCall(ToolCallEvent call);

  Future<Void> onToolResult(ToolResultEvent result);

  /**
   * The history was compacted to fit the model's context: store it as the session's
   * {@code compaction} event (the next context, of this turn and later ones, starts from it).
   */
  Future<Void> onCompacted(JsonObject compaction);

  /**
   * A tool call as the model asked for it.
   *
   * @param arguments the parsed arguments, or {@code {_raw: "..."}} when they are not a JSON object
   * @param step      the model call (1, 2, ...) that asked for it
   */
  record ToolCallEvent(String toolCallId, String name, JsonObject arguments, int step) {
    public JsonObject toJson() {
      return new JsonObject().put("toolCallId", toolCallId).put("name", name).put("args", arguments).put("step", step);
    }
  }

  /**
   * A tool's result, as the model will see it (clipped to {@value AgentLoop#EVENT_RESULT_CHARS} characters here).
   */
  record ToolResultEvent(String toolCallId, String name, boolean isError, String result, long durationMs, int step) {
    public JsonObject toJson() {
      return new JsonObject().put("toolCallId", toolCallId).put("name", name).put("isError", isError)
          .put("result", result).put("durationMs", durationMs).put("step", step);
    }
  }

  /**
   * A message folded into a running turn ({@code steer} queue mode), already stored in the session
   * under run {@code id}.
   */
  record Steering(String id, String text) {
  }
}
