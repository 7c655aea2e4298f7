package dev.switchboard.agent;

import dev.switchboard.store.EventStore;
import dev.switchboard.store.SessionEvent;
import io.vertx.core.Future;
import java.util.List;

/**
 * Where the agent reads a session's conversation from: its recent messages and its latest
 * compaction. The lane serves both from a cache it keeps current; other readers (the context
 * inspector) read the store.
 */
public interface HistorySource {
  /** The last {@code limit} conversation messages of a session, oldest first. */
  Future<List<SessionEvent>> recent(String sessionId, int limit);

  /** The session's latest {@code compaction} event, or null when its history was never compacted. */
  Future<SessionEvent> latestCompaction(String sessionId);

  /** Reads straight from the store. */
  static HistorySource of(EventStore events) {
    return new HistorySource() {
      @Override
      public Future<List<SessionEvent>> recent(String sessionId, int limit) {
        return events.messages(sessionId, limit);
      }

      @Override
      public Future<SessionEvent> latestCompaction(String sessionId) {
        return events.latest(sessionId, SessionEvent.COMPACTION);
      }
    };
  }
}
