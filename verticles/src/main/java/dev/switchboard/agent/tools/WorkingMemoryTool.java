package dev.switchboard.agent.tools;

import dev.switchboard.agent.AgentAddresses;
import dev.switchboard.agent.ToolSpec;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.WorkspaceBus;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * {@code working_memory_update}: the agent replaces the working memory of the session it answers in
 * (plans, open questions, what it learned about this conversation). The next turns of that session
 * show it in their context. Written through the lanes ({@link AgentAddresses#WORKING_MEMORY}), which
 * own the session; always the turn's own session.
 */
final class WorkingMemoryTool {
  static final long BUS_TIMEOUT_MS = 10_000;

  private WorkingMemoryTool() {
  }

  static Tool update(WorkspaceBus bus) {
    ToolSpec spec = new ToolSpec("working_memory_update", "Replace this session's working memory (notes you keep"
        + " in view for the rest of it). Send the whole text; empty clears it.",
        Args.schema(new JsonObject().put("text", Args.STRING), "text"));
    return Tool.of(spec, (ctx, toolCallId, args) -> {
      if (!(args.getValue("text") instanceof String)) {
        throw new ToolError("'text' is required and must be a string (empty clears the working memory)");
      }
      String text = Args.optionalString(args, "text", AgentAddresses.WORKING_MEMORY_MAX_CHARS);
      return bus.request(AgentAddresses.WORKING_MEMORY, new JsonObject().put("sessionId", ctx.sessionId())
              .put("text", text), BUS_TIMEOUT_MS)
          // what the lanes refuse is the model's to fix: shown to it as the tool's error
          .recover(err -> {
            int code = BusFailure.codeOf(err);
            return Future.failedFuture(code == BusFailure.BAD_REQUEST || code == BusFailure.NOT_FOUND
                ? new ToolError(err.getMessage()) : err);
          })
          .map(reply -> reply.getInteger("chars", 0) == 0 ? "Working memory cleared."
              : "Working memory saved (" + reply.getInteger("chars") + " characters).");
    });
  }
}
