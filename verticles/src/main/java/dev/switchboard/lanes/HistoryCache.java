package dev.switchboard.lanes;

import dev.switchboard.agent.HistorySource;
import dev.switchboard.store.EventStore;
import dev.switchboard.store.SessionEvent;
import dev.switchboard.store.SessionStore;
import io.vertx.core.Future;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Recent conversation messages (and the latest compaction and working memory) of the most recently
 * active sessions, so a turn's context does not cost a query. Bounded: at most {@code maxSessions} sessions × {@code maxMessages} messages; the
 * least recently used session is dropped first, and anything not cached is read from the store.
 * Every message of a workspace is stored through its lane verticle, which keeps this cache current
 * ({@link #stored}). Used from the lane verticle's context only.
 */
final class HistoryCache implements HistorySource {
  private final EventStore events;
  private final SessionStore sessionStore;
  private final int maxSessions;
  private final int maxMessages;
  private final Map<String, ArrayDeque<SessionEvent>> sessions;
  private final Map<String, List<SessionEvent>> loading = new java.util.HashMap<>();
  /** Latest compaction per cached session ({@link #NONE} when it has none); bounded like the sessions. */
  private final Map<String, SessionEvent> compactions;
  private static final SessionEvent NONE = new SessionEvent(null, 0, "none", null, new io.vertx.core.json.JsonObject(),
      java.time.Instant.EPOCH);
  /** Working memory per cached session ("" when it has none); the lane is its only writer. */
  private final Map<String, String> workingMemory;

  HistoryCache(EventStore events, SessionStore sessionStore, int maxSessions, int maxMessages) {
    this.events = events;
    this.sessionStore = sessionStore;
    this.maxSessions = maxSessions;
    this.maxMessages = maxMessages;
    this.sessions = lru(maxSessions);
    this.compactions = lru(maxSessions);
    this.workingMemory = lru(maxSessions);
  }

  /** A map in access order that drops its least recently used entry beyond {@code max}. */
  private static <V> Map<String, V> lru(int max) {
    return new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
        return size() > max;
      }
    };
  }

  @Override
  public Future<String> workingMemory(String sessionId) {
    String known = workingMemory.get(sessionId);
    if (known != null) {
      return Future.succeededFuture(known.isEmpty() ? null : known);
    }
    return sessionStore.find(sessionId).map(s -> {
      String text = s == null ? null : s.workingMemory();
      if (maxSessions > 0) {
        // a write that happened while this read ran has already been recorded: keep it
        workingMemory.putIfAbsent(sessionId, text == null ? "" : text);
      }
      return text;
    });
  }

  /** The lane stored a session's new working memory (null: cleared). */
  void workingMemoryChanged(String sessionId, String text) {
    if (maxSessions > 0) {
      workingMemory.put(sessionId, text == null ? "" : text);
    }
  }

  @Override
  public Future<SessionEvent> latestCompaction(String sessionId) {
    SessionEvent known = compactions.get(sessionId);
    if (known != null) {
      return Future.succeededFuture(known == NONE ? null : known);
    }
    return events.latest(sessionId, SessionEvent.COMPACTION).map(found -> {
      if (maxSessions > 0) {
        // a compaction stored while this read ran has already been recorded: keep the newer one
        compactions.putIfAbsent(sessionId, found == null ? NONE : found);
      }
      return found;
    });
  }

  @Override
  public Future<List<SessionEvent>> recent(String sessionId, int limit) {
    ArrayDeque<SessionEvent> cached = sessions.get(sessionId);
    if (cached != null && (limit <= cached.size() || cached.size() < maxMessages)) {
      return Future.succeededFuture(tail(cached, limit));
    }
    if (maxSessions == 0 || limit > maxMessages) {
      return events.messages(sessionId, limit);
    }
    // messages stored while the read is under way are collected and merged, so none is missed
    List<SessionEvent> meanwhile = loading.computeIfAbsent(sessionId, k -> new ArrayList<>());
    return events.messages(sessionId, maxMessages).map(list -> {
      ArrayDeque<SessionEvent> fresh = new ArrayDeque<>(list);
      long last = fresh.isEmpty() ? 0 : fresh.peekLast().seq();
      meanwhile.stream().filter(e -> e.seq() > last).sorted(java.util.Comparator.comparingLong(SessionEvent::seq))
          .forEach(fresh::addLast);
      loading.remove(sessionId, meanwhile);
      trim(fresh);
      sessions.put(sessionId, fresh);
      return tail(fresh, limit);
    }).onFailure(err -> loading.remove(sessionId, meanwhile));
  }

  /** Events the lane just stored (in seq order): conversation messages join their cached session. */
  void stored(List<SessionEvent> stored) {
    for (SessionEvent e : stored) {
      if (e.type().equals(SessionEvent.COMPACTION)) {
        compactions.put(e.sessionId(), e);
        continue;
      }
      if (!EventStore.MESSAGE_TYPES.contains(e.type())) {
        continue;
      }
      List<SessionEvent> pending = loading.get(e.sessionId());
      if (pending != null) {
        pending.add(e);
      }
      ArrayDeque<SessionEvent> cached = sessions.get(e.sessionId());
      if (cached != null && (cached.isEmpty() || cached.peekLast().seq() < e.seq())) {
        cached.addLast(e);
        trim(cached);
      }
    }
  }

  int size() {
    return sessions.size();
  }

  private void trim(ArrayDeque<SessionEvent> q) {
    while (q.size() > maxMessages) {
      q.pollFirst();
    }
  }

  private static List<SessionEvent> tail(ArrayDeque<SessionEvent> q, int limit) {
    List<SessionEvent> all = new ArrayList<>(q);
    return all.subList(Math.max(0, all.size() - limit), all.size());
  }
}
