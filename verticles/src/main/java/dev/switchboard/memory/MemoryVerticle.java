package dev.switchboard.memory;

import dev.switchboard.store.EventStore;
import dev.switchboard.store.MemoryEntry;
import dev.switchboard.store.MemoryStore;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.WorkspaceBus;
import dev.switchboard.workspace.WorkspaceConfig;
import dev.switchboard.workspace.WorkspaceContext;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The memory engine: facts an agent keeps across sessions, written and searched over the event bus.
 * Entries belong to one agent of one workspace; the workspace's own schema keeps them apart from
 * every other workspace. It also compacts sessions whose history outgrew the model's context
 * ({@link MemoryAddresses#COMPACT}): older messages become a checkpoint summary.
 */
public final class MemoryVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(MemoryVerticle.class);
  static final int MAX_TEXT = 8_000;
  static final int MAX_RESULTS = 50;
  static final Set<String> KINDS = Set.of("fact", "preference", "note", "checkpoint", "compaction");
  /** Longest compaction summary; older lines give way to newer ones. */
  static final int SUMMARY_MAX_CHARS = 4_000;
  /** Characters kept of one message in a summary line. */
  static final int SUMMARY_LINE_CHARS = 200;
  /** Messages read for one compaction (older ones are dropped without a summary line). */
  static final int MAX_COMPACT_SCAN = 5_000;

  static final int CHECKPOINT_MESSAGES = 12;
  static final int CHECKPOINT_LINE_CHARS = 240;

  private WorkspaceConfig workspace;
  private MemoryStore store;
  private EventStore events;

  @Override
  public Future<?> start() {
    WorkspaceContext ctx = WorkspaceContext.from(config());
    workspace = ctx.config();
    store = new MemoryStore(ctx.pool(vertx));
    events = new EventStore(ctx.pool(vertx));
    WorkspaceBus bus = ctx.bus(vertx);
    return Future.all(
        bus.<JsonObject>consumer(MemoryAddresses.WRITE, m -> handle(m, this::write)).completion(),
        bus.<JsonObject>consumer(MemoryAddresses.SEARCH, m -> handle(m, this::search)).completion(),
        bus.<JsonObject>consumer(MemoryAddresses.DELETE, m -> handle(m, this::delete)).completion(),
        bus.<JsonObject>consumer(MemoryAddresses.CHECKPOINT, m -> handle(m, this::checkpoint)).completion(),
        bus.<JsonObject>consumer(MemoryAddresses.COMPACT, m -> handle(m, this::compact)).completion());
  }

  private interface Handler {
    Future<JsonObject> apply(JsonObject body);
  }

  private void handle(Message<JsonObject> msg, Handler h) {
    Future<JsonObject> f;
    try {
      f = h.apply(msg.body() == null ? new JsonObject() : msg.body());
    } catch (BusFailure.Coded e) {
      f = Future.failedFuture(e);
    }
    f.onSuccess(msg::reply).onFailure(err -> BusFailure.reply(msg, err, LOG));
  }

  private String agentId(JsonObject body) {
    String agentId = body.getString("agentId");
    if (agentId == null || workspace.agent(agentId) == null) {
      throw BusFailure.badRequest("unknown agent \"" + agentId + "\"");
    }
    return agentId;
  }

  private Future<JsonObject> write(JsonObject body) {
    String agentId = agentId(body);
    String text = body.getString("text", "").strip();
    if (text.isEmpty()) {
      throw BusFailure.badRequest("memory text must not be empty");
    }
    if (text.length() > MAX_TEXT) {
      throw BusFailure.badRequest("memory text longer than " + MAX_TEXT + " characters");
    }
    String kind = body.getString("kind", "fact");
    if (!KINDS.contains(kind)) {
      throw BusFailure.badRequest("memory kind must be one of " + String.join(", ", KINDS.stream().sorted().toList()));
    }
    JsonArray tags = body.getJsonArray("tags", new JsonArray());
    return store.write(agentId, kind, text, tags, body.getString("sessionId")).map(MemoryEntry::toJson);
  }

  private Future<JsonObject> search(JsonObject body) {
    String agentId = agentId(body);
    String query = body.getString("query", "").strip();
    int limit = Math.max(1, Math.min(body.getInteger("limit", 10), MAX_RESULTS));
    Future<List<MemoryEntry>> found = query.isEmpty() ? store.recent(agentId, limit)
        : store.search(agentId, query, limit);
    return found.map(list -> new JsonObject().put("entries",
        new JsonArray(list.stream().map(MemoryEntry::toJson).toList())));
  }

  /**
   * A session's checkpoint: its key, size and time span, and its last messages (each line cut to
   * a readable length), written once. It keeps what the old session was about findable through
   * memory search after {@code /new} started a fresh one.
   */
  private Future<JsonObject> checkpoint(JsonObject body) {
    String agentId = agentId(body);
    String sessionId = body.getString("sessionId");
    if (sessionId == null) {
      throw BusFailure.badRequest("sessionId is required");
    }
    String key = body.getString("sessionKey", "");
    return store.checkpointOf(agentId, sessionId).compose(existing -> {
      if (existing != null) {
        return Future.succeededFuture(existing.toJson());
      }
      return Future.all(events.messages(sessionId, CHECKPOINT_MESSAGES), events.countMessages(sessionId))
          .compose(all -> {
            List<SessionEvent> recent = all.resultAt(0);
            int count = all.resultAt(1);
            StringBuilder text = new StringBuilder("Checkpoint of session ").append(key).append(" (")
                .append(count).append(count == 1 ? " message" : " messages");
            if (!recent.isEmpty()) {
              text.append(", last on ").append(recent.get(recent.size() - 1).createdAt().toString(), 0, 10);
            }
            text.append(")");
            if (count > recent.size()) {
              text.append("; its last ").append(recent.size()).append(" messages");
            }
            text.append(':');
            for (SessionEvent e : recent) {
              String line = e.payload().getString("text", "").strip().replaceAll("\\s+", " ");
              if (line.length() > CHECKPOINT_LINE_CHARS) {
                line = line.substring(0, CHECKPOINT_LINE_CHARS) + "…";
              }
              text.append('\n').append(e.type().equals(SessionEvent.USER_MESSAGE) ? "user: " : "assistant: ").append(line);
            }
            return store.write(agentId, "checkpoint", text.toString(), new JsonArray().add("session:" + key), sessionId);
          })
          .map(MemoryEntry::toJson);
    });
  }

  private Future<JsonObject> delete(JsonObject body) {
    String agentId = agentId(body);
    return store.delete(agentId, body.getString("id", "")).map(d -> new JsonObject().put("deleted", d));
  }

  /**
   * Compacts a session whose history outgrew the model's context: every message after
   * {@code afterSeq} (the previous compaction) except the newest {@code keepMessages} is summarised,
   * line by line (who said what, clipped), together with the previous summary, into a
   * {@code compaction} memory entry that memory search finds later. The answer tells the agent loop
   * what to drop ({@code throughSeq}) and what to show instead ({@code summary}); the loop records it
   * in the session, and the full messages stay in the session log. The summary is extractive, not
   * written by a model: it never invents anything.
   */
  private Future<JsonObject> compact(JsonObject body) {
    String agentId = agentId(body);
    String sessionId = body.getString("sessionId");
    if (sessionId == null || sessionId.isBlank()) {
      throw BusFailure.badRequest("sessionId is required");
    }
    long afterSeq = Math.max(0, body.getLong("afterSeq", 0L));
    int keep = Math.max(0, Math.min(body.getInteger("keepMessages", 4), 10_000));
    String previous = body.getString("previousSummary");
    return events.messagesAfter(sessionId, afterSeq, MAX_COMPACT_SCAN).compose(messages -> {
      int drop = Math.max(0, messages.size() - keep);
      if (drop == 0) {
        return Future.succeededFuture(new JsonObject().put("droppedMessages", 0).put("keptMessages", messages.size()));
      }
      List<SessionEvent> dropped = messages.subList(0, drop);
      long throughSeq = dropped.get(drop - 1).seq();
      String summary = summary(previous, dropped, messages.size() == MAX_COMPACT_SCAN);
      JsonArray tags = new JsonArray().add("compaction").add("session:" + sessionId);
      return store.write(agentId, "compaction", summary, tags, sessionId).map(entry -> {
        LOG.info("session {}: compacted {} message(s) through seq {} into memory entry {}", sessionId, drop,
            throughSeq, entry.id());
        return new JsonObject().put("entryId", entry.id()).put("throughSeq", throughSeq).put("summary", summary)
            .put("droppedMessages", drop).put("keptMessages", messages.size() - drop);
      });
    });
  }

  static String summary(String previous, List<SessionEvent> dropped, boolean truncatedScan) {
    List<String> lines = new ArrayList<>();
    for (SessionEvent e : dropped) {
      String text = e.payload().getString("text", "").replaceAll("\\s+", " ").strip();
      if (text.isEmpty()) {
        continue;
      }
      if (text.length() > SUMMARY_LINE_CHARS) {
        text = text.substring(0, SUMMARY_LINE_CHARS) + "…";
      }
      lines.add("- " + (e.type().equals(SessionEvent.USER_MESSAGE) ? "user" : "assistant") + ": " + text);
    }
    StringBuilder head = new StringBuilder("Compacted " + dropped.size() + " earlier message(s) on "
        + Instant.now().toString().substring(0, 10) + "; only short excerpts are kept here.");
    if (truncatedScan) {
      head.append(" Older messages were left out.");
    }
    if (previous != null && !previous.isBlank()) {
      String prev = previous.length() > SUMMARY_MAX_CHARS / 3 ? previous.substring(0, SUMMARY_MAX_CHARS / 3) + "…"
          : previous;
      head.append("\nBefore that:\n").append(prev);
    }
    // newest lines matter most to what follows: when over budget, the oldest lines go first
    int budget = SUMMARY_MAX_CHARS - head.length();
    int from = lines.size();
    int used = 0;
    while (from > 0 && used + lines.get(from - 1).length() + 1 <= budget) {
      from--;
      used += lines.get(from).length() + 1;
    }
    StringBuilder sb = new StringBuilder(head);
    if (from > 0) {
      sb.append("\n(").append(from).append(" older line(s) omitted)");
    }
    for (int i = from; i < lines.size(); i++) {
      sb.append('\n').append(lines.get(i));
    }
    return sb.toString();
  }
}
