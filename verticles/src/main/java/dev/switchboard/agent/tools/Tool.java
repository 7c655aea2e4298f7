package dev.switchboard.agent.tools;

import dev.switchboard.agent.ToolContext;
import dev.switchboard.agent.ToolSpec;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * A tool the model may call. Tools are stateless: everything about the turn comes in the
 * {@link ToolContext}, and the result is text for the model. A failed future is shown to the model
 * as an error result: {@link ToolError} messages verbatim, anything else as a generic failure.
 */
public interface Tool {
  ToolSpec spec();

  /**
   * Runs one call. {@code toolCallId} identifies the call (tools that post elsewhere use it to stay
   * idempotent); {@code arguments} are the model's parsed arguments.
   */
  Future<String> invoke(ToolContext context, String toolCallId, JsonObject arguments);

  /** What a tool does with one call. */
  @FunctionalInterface
  interface Action {
    Future<String> run(ToolContext context, String toolCallId, JsonObject arguments);
  }

  static Tool of(ToolSpec spec, Action action) {
    return new Tool() {
      @Override
      public ToolSpec spec() {
        return spec;
      }

      @Override
      public Future<String> invoke(ToolContext context, String toolCallId, JsonObject arguments) {
        return action.run(context, toolCallId, arguments);
      }
    };
  }
}
