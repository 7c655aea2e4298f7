package dev.switchboard.agent;

import dev.switchboard.store.EventStore;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.store.SessionStore;
import io.vertx.core.Future;
import java.util.List;

/**
 * Where the agent reads a session's conversation from: its recent messages, its latest compaction
 * and its working memory. The lane serves them from a cache it keeps current; other readers (the
 * context inspector) read the store.
 */
public interface HistorySource {
  /** The last {@code limit} conversation messages of a session, oldest first. */
  Future<List<SessionEvent>> recent(String sessionId, int limit);

  /** The session's latest {@code compaction} event, or null when its history was never compacted. */
  Future<SessionEvent> latestCompaction(String sessionId);

  /** The session's working memory, or null when it has none. */
  Future<String> workingMemory(String sessionId);

  /** Reads straight from the store. */
  static HistorySource of(EventStore events, SessionStore sessions) {
    return new HistorySource() {
      @Override
      public Future<List<SessionEvent>> recent(String sessionId, int limit) {
        return events.messages(sessionId, limit);
      }

      @Override
      public Future<SessionEvent> latestCompaction(String sessionId) {
        return events.latest(sessionId, SessionEvent.COMPACTION);
      }

      @Override
      public Future<String> workingMemory(String sessionId) {
        return sessions.find(sessionId).map(s -> s == null ? null : s.workingMemory());
      }
    };
  }
}
