package dev.switchboard.agent.tools;

import dev.switchboard.agent.ToolSpec;
import dev.switchboard.memory.MemoryAddresses;
import dev.switchboard.workspace.WorkspaceBus;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;

/**
 * {@code memory_search} and {@code memory_write}: the agent's long-term memory, reached through the
 * memory engine's bus addresses (never its classes), always for the turn's own agent.
 */
final class MemoryTools {
  static final long BUS_TIMEOUT_MS = 10_000;
  static final List<String> WRITABLE_KINDS = List.of("fact", "preference", "note");

  private MemoryTools() {
  }

  static Tool search(WorkspaceBus bus) {
    ToolSpec spec = new ToolSpec("memory_search", "Search your long-term memory (all words must match; empty query:"
        + " most recent).", Args.schema(new JsonObject().put("query", Args.STRING).put("limit", Args.INTEGER)));
    return Tool.of(spec, (ctx, toolCallId, args) -> {
      String query = Args.optionalString(args, "query", 500);
      int limit = Args.integer(args, "limit", 5, 1, 20);
      return bus.request(MemoryAddresses.SEARCH, new JsonObject().put("agentId", ctx.agentId())
              .put("query", query == null ? "" : query).put("limit", limit), BUS_TIMEOUT_MS)
          .map(reply -> {
            JsonArray entries = reply.getJsonArray("entries", new JsonArray());
            if (entries.isEmpty()) {
              return "No memories match.";
            }
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < entries.size(); i++) {
              JsonObject e = entries.getJsonObject(i);
              sb.append("- [").append(e.getString("kind")).append(", ")
                  .append(Instant.ofEpochMilli(e.getLong("updatedAt", 0L)).toString(), 0, 10).append("] ")
                  .append(Args.clip(e.getString("text"), 1_000)).append('\n');
            }
            return sb.toString().stripTrailing();
          });
    });
  }

  static Tool write(WorkspaceBus bus) {
    ToolSpec spec = new ToolSpec("memory_write", "Save a durable fact, preference or note for future"
        + " conversations.", Args.schema(new JsonObject().put("text", Args.STRING)
            .put("kind", new JsonObject().put("type", "string").put("enum", new JsonArray(WRITABLE_KINDS))), "text"));
    return Tool.of(spec, (ctx, toolCallId, args) -> {
      String text = Args.requiredString(args, "text", 8_000);
      String kind = Args.optionalString(args, "kind", 32);
      if (kind == null || kind.isEmpty()) {
        kind = "fact";
      }
      if (!WRITABLE_KINDS.contains(kind)) {
        throw new ToolError("'kind' must be one of " + String.join(", ", WRITABLE_KINDS));
      }
      return bus.request(MemoryAddresses.WRITE, new JsonObject().put("agentId", ctx.agentId()).put("text", text)
              .put("kind", kind).put("sessionId", ctx.sessionId()).put("tags", new JsonArray()), BUS_TIMEOUT_MS)
          .map(entry -> "Saved " + entry.getString("kind") + " " + entry.getString("id") + ".");
    });
  }
}
