package dev.switchboard.agent;

import dev.switchboard.store.SessionEvent;
import dev.switchboard.workspace.AgentConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.file.FileSystemException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds what the model sees for a turn, kept small on purpose:
 * <ol>
 *   <li>a system prompt: one line naming the agent, then the agent's files ({@code AGENTS.md,
 *       SOUL.md, USER.md, MEMORY.md}, each capped at {@code context.fileMaxChars} and all of them at
 *       {@code context.totalFileMaxChars}; oversize files are truncated in the prompt and stay whole
 *       on disk), then the summary of the session's latest compaction, if any, then the session's
 *       working memory, if any (what the agent keeps with {@code working_memory_update});</li>
 *   <li>the session's earlier messages after that compaction: at most {@code session.historyLimit}
 *       of them and at most {@code context.historyMaxChars} characters, newest kept (unmentioned group
 *       messages only when {@code session.unmentionedContext} says so);</li>
 *   <li>the turn's own messages, which the loop appends.</li>
 * </ol>
 * Tool schemas are added by the loop from the agent's enabled tools.
 */
public final class ContextAssembler {
  /** The agent files, in prompt order. */
  public static final List<String> FILES = List.of("AGENTS.md", "SOUL.md", "USER.md", "MEMORY.md");
  private static final long FILE_CACHE_MS = 2_000;

  private final Vertx vertx;
  private final HistorySource history;
  private final Map<String, CachedFile> files = new HashMap<>();

  private record CachedFile(String text, long readAt) {
  }

  private record SystemPrompt(String text, List<FileView> files) {
  }

  /** How an agent file was shown: its size on disk and how much of it the model sees. */
  public record FileView(String name, int chars, int shownChars, boolean truncated) {
    JsonObject toJson() {
      return new JsonObject().put("name", name).put("chars", chars).put("shownChars", shownChars)
          .put("truncated", truncated);
    }
  }

  /** The latest compaction: messages up to {@code throughSeq} are represented by {@code summary}. */
  public record Compaction(String entryId, long throughSeq, String summary) {
    static final Compaction NONE = new Compaction(null, 0, null);

    JsonObject toJson() {
      return new JsonObject().put("entryId", entryId).put("throughSeq", throughSeq).put("summary", summary);
    }
  }

  /**
   * An assembled context.
   *
   * @param omittedMessages earlier messages left out by the history caps
   */
  public record Assembled(String system, List<ChatMessage> history, List<FileView> files, Compaction compaction,
      int omittedMessages, int workingMemoryChars) {
    JsonObject describe() {
      JsonArray f = new JsonArray();
      files.forEach(v -> f.add(v.toJson()));
      return new JsonObject().put("files", f)
          .put("compaction", compaction.entryId() == null ? null : compaction.toJson())
          .put("historyMessages", history.size()).put("omittedMessages", omittedMessages)
          .put("workingMemoryChars", workingMemoryChars);
    }
  }

  public ContextAssembler(Vertx vertx, HistorySource history) {
    this.vertx = vertx;
    this.history = history;
  }

  /**
   * The system prompt and earlier history of {@code sessionId} for {@code agent}. Messages of the
   * runs in {@code excludeRuns} (the turn being answered and messages folded into it) are left out:
   * the loop adds them itself, in turn order. Unmentioned group messages (stored without triggering
   * a turn) are context only when {@code includeUntriggered}. {@code sessionId} null means a session
   * without history.
   */
  public Future<Assembled> assemble(AgentConfig agent, String sessionId, Set<String> excludeRuns, int historyLimit,
      boolean includeUntriggered) {
    Future<SystemPrompt> prompt = systemPrompt(agent);
    Future<SessionEvent> compactionEvent = sessionId == null ? Future.succeededFuture(null)
        : history.latestCompaction(sessionId);
    Future<List<SessionEvent>> recent = sessionId == null || historyLimit == 0 ? Future.succeededFuture(List.of())
        : history.recent(sessionId, historyLimit + excludeRuns.size() + 1);
    Future<String> workingMemory = sessionId == null ? Future.succeededFuture(null) : history.workingMemory(sessionId);
    return Future.all(prompt, compactionEvent, recent, workingMemory).map(all -> {
      SessionEvent ce = compactionEvent.result();
      Compaction compaction = ce == null ? Compaction.NONE : new Compaction(ce.payload().getString("entryId"),
          ce.payload().getLong("throughSeq", 0L), ce.payload().getString("summary", ""));
      List<ChatMessage> messages = new ArrayList<>();
      for (SessionEvent e : recent.result()) {
        if (e.seq() <= compaction.throughSeq()) {
          continue; // shown through the compaction's summary
        }
        boolean user = e.type().equals(SessionEvent.USER_MESSAGE);
        if (e.runId() != null && user && excludeRuns.contains(e.runId())) {
          continue; // this turn's own messages: the loop adds them
        }
        if (user && !includeUntriggered && !e.payload().getBoolean("triggered", true)) {
          continue;
        }
        String text = e.payload().getString("text", "");
        if (text.isEmpty()) {
          continue; // a silent reply: stored, never shown
        }
        messages.add(user ? ChatMessage.user(text) : ChatMessage.assistant(text));
      }
      int omitted = 0;
      while (messages.size() > historyLimit) {
        messages.remove(0);
        omitted++;
      }
      int chars = 0;
      int keepFrom = messages.size();
      for (int i = messages.size() - 1; i >= 0; i--) {
        chars += messages.get(i).chars();
        if (chars > agent.context().historyMaxChars()) {
          break;
        }
        keepFrom = i;
      }
      omitted += keepFrom;
      List<ChatMessage> kept = new ArrayList<>(messages.subList(keepFrom, messages.size()));
      List<FileView> views = prompt.result().files();
      String system = prompt.result().text();
      if (compaction.summary() != null && !compaction.summary().isBlank()) {
        system += "\n\n## Earlier in this conversation (summary)\n" + compaction.summary();
      }
      String notes = workingMemory.result();
      if (notes != null && !notes.isBlank()) {
        system += "\n\n## Working memory (this session; replace it with working_memory_update)\n" + notes;
      }
      return new Assembled(system, kept, views, compaction, omitted, notes == null ? 0 : notes.length());
    });
  }

  /** The system prompt and how each file was shown. */
  private Future<SystemPrompt> systemPrompt(AgentConfig agent) {
    List<Future<String>> reads = new ArrayList<>();
    for (String f : FILES) {
      reads.add(readCached(agent.dir().resolve(f).toString()));
    }
    return Future.all(reads).map(all -> {
      StringBuilder sb = new StringBuilder();
      sb.append("You are ").append(agent.name()).append(", an assistant reached through Switchboard.");
      List<FileView> views = new ArrayList<>();
      int budget = agent.context().totalFileMaxChars();
      for (int i = 0; i < FILES.size(); i++) {
        String text = reads.get(i).result();
        if (text == null || text.isBlank()) {
          continue;
        }
        String body = text.strip();
        int cap = Math.max(0, Math.min(agent.context().fileMaxChars(), budget));
        boolean cut = body.length() > cap;
        if (cut) {
          int end = cap > 0 && Character.isHighSurrogate(body.charAt(cap - 1)) ? cap - 1 : cap;
          body = body.substring(0, end);
        }
        budget -= body.length();
        views.add(new FileView(FILES.get(i), text.length(), body.length(), cut));
        if (body.isEmpty()) {
          continue;
        }
        sb.append("\n\n## ").append(FILES.get(i)).append("\n").append(body);
        if (cut) {
          sb.append("\n[… truncated: ").append(text.strip().length() - body.length())
              .append(" more characters in ").append(FILES.get(i)).append("]");
        }
      }
      return new SystemPrompt(sb.toString(), List.copyOf(views));
    });
  }

  private Future<String> readCached(String path) {
    long now = System.currentTimeMillis();
    CachedFile c = files.get(path);
    if (c != null && now - c.readAt < FILE_CACHE_MS) {
      return Future.succeededFuture(c.text);
    }
    return vertx.fileSystem().readFile(path)
        .map(buf -> buf.toString(StandardCharsets.UTF_8))
        .recover(err -> isMissing(err) ? Future.succeededFuture(null) : Future.failedFuture(err))
        .onSuccess(text -> files.put(path, new CachedFile(text, now)));
  }

  private static boolean isMissing(Throwable err) {
    return err instanceof FileSystemException && err.getCause() instanceof NoSuchFileException;
  }
}
