package dev.switchboard.agent;

import java.util.List;

/**
 * One message of the conversation as the model sees it, in a provider-neutral shape.
 *
 * @param role       {@code user | assistant | tool}
 * @param text       the text (for {@code tool}: the tool's result)
 * @param toolCalls  for {@code assistant}: the tool calls it asked for (possibly none)
 * @param toolCallId for {@code tool}: the call this result answers
 * @param toolName   for {@code tool}: the tool that produced it
 * @param isError    for {@code tool}: the call failed
 */
public record ChatMessage(String role, String text, List<ToolCall> toolCalls, String toolCallId, String toolName,
    boolean isError) {
  public static final String USER = "user";
  public static final String ASSISTANT = "assistant";
  public static final String TOOL = "tool";

  public ChatMessage {
    text = text == null ? "" : text;
    toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
  }

  public static ChatMessage user(String text) {
    return new ChatMessage(USER, text, List.of(), null, null, false);
  }

  public static ChatMessage assistant(String text) {
    return new ChatMessage(ASSISTANT, text, List.of(), null, null, false);
  }

  public static ChatMessage assistant(String text, List<ToolCall> toolCalls) {
    return new ChatMessage(ASSISTANT, text, toolCalls, null, null, false);
  }

  public static ChatMessage toolResult(String toolCallId, String toolName, String text, boolean isError) {
    return new ChatMessage(TOOL, text, List.of(), toolCallId, toolName, isError);
  }

  /** Characters the model reads for this message (text and tool-call arguments). */
  public int chars() {
    int n = text.length();
    for (ToolCall c : toolCalls) {
      n += c.name().length() + c.rawArguments().length();
    }
    return n;
  }
}
