package dev.switchboard.agent;

import java.util.List;

/**
 * What a model is asked, provider-neutral: the system prompt, the conversation and the tools it may
 * call. Which model and how (URL, keys, timeouts) comes from the agent's {@code ModelConfig}.
 */
public record ModelCall(String system, List<ChatMessage> messages, List<ToolSpec> tools) {

  public ModelCall {
    system = system == null ? "" : system;
    messages = List.copyOf(messages);
    tools = tools == null ? List.of() : List.copyOf(tools);
  }

  /** The last user message (what a turn answers). */
  public String lastUserText() {
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.get(i).role().equals(ChatMessage.USER)) {
        return messages.get(i).text();
      }
    }
    return "";
  }

  /** All prompt characters (system, messages and tool schemas): the base of token estimates. */
  public int promptChars() {
    int n = system.length();
    for (ChatMessage m : messages) {
      n += m.chars();
    }
    for (ToolSpec t : tools) {
      n += t.chars();
    }
    return n;
  }

  /** A rough token count of the prompt (see {@link Tokens}). */
  public int estimatedTokens() {
    return Tokens.estimate(promptChars());
  }
}
