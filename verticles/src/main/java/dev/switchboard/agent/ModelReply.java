package dev.switchboard.agent;

import java.util.List;

/**
 * What one model call produced.
 *
 * @param stopReason {@code stop | length | tool_use}
 * @param toolCalls  the tools the model asked for (empty: this is a final answer)
 */
public record ModelReply(String text, String stopReason, Usage usage, String provider, String model,
    List<ToolCall> toolCalls) {

  public ModelReply {
    toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
  }
}
