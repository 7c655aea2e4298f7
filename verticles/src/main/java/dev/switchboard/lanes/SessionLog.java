package dev.switchboard.lanes;

import dev.switchboard.store.EventStore;
import dev.switchboard.store.GroupCommit;
import dev.switchboard.store.SessionEvent;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Writes a workspace's session logs. The lane verticle is the only writer, so the next event number
 * of each recently active session is kept here and handed out without a query; the primary key
 * (session, seq) still refuses a number taken twice, and a refused or failed write makes the next
 * append re-read the number from the log. The session row (counters, status, participants) is
 * brought up to date in the same transaction as the events, so one commit records both; the
 * lane's transactions go through one {@link GroupCommit}, so under load many turns share a commit.
 * Used from the lane verticle's context only.
 */
final class SessionLog {
  private static final int MAX_SESSIONS = 10_000;
  private static final int MAX_BATCH = 64;

  private final GroupCommit commits;
  private final EventStore events;
  private final HistoryCache history;
  private final Map<String, State> states = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, State> eldest) {
      return size() > MAX_SESSIONS;
    }
  };

  /** What is known of one session: its next number and who wrote in it. */
  private static final class State {
    long next;
    final Set<String> people;

    State(long next, Set<String> people) {
      this.next = next;
      this.people = people;
    }
  }

  SessionLog(Pool pool, EventStore events, HistoryCache history) {
    this.commits = new GroupCommit(pool, MAX_BATCH);
    this.events = events;
    this.history = history;
  }

  /** Stores events in a transaction of their own (the user message: its commit is the durable point). */
  Future<List<SessionEvent>> append(String sessionId, List<SessionEvent.New> list) {
    if (list.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    return transaction(sessionId, c -> write(c, sessionId, list)).onSuccess(stored -> committed(sessionId, stored));
  }

  /**
   * A transaction that appends to a session's log with other writes (a reply with its obligation),
   * through the group commit; {@code work} appends with {@link #append(SqlClient, String, List)},
   * and the caller reports the commit with {@link #committed}.
   */
  <R> Future<R> transaction(String sessionId, Function<SqlClient, Future<R>> work) {
    // rolled back: the numbers handed out are in doubt
    return commits.run(work, () -> forget(sessionId));
  }

  /** Stores events inside a transaction begun by {@link #transaction}. */
  Future<List<SessionEvent>> append(SqlClient tx, String sessionId, List<SessionEvent.New> list) {
    return write(tx, sessionId, list);
  }

  /** After a transaction committed: the history cache learns about its events. */
  void committed(String sessionId, List<SessionEvent> stored) {
    history.stored(stored);
  }

  /** Forgets a session (deleted, or its numbering is in doubt). */
  void forget(String sessionId) {
    states.remove(sessionId);
  }

  private Future<List<SessionEvent>> write(SqlClient tx, String sessionId, List<SessionEvent.New> list) {
    if (list.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    return state(tx, sessionId).compose(st -> {
      long first = st.next;
      st.next += list.size();
      return events.insertAt(tx, sessionId, first, list)
          .compose(stored -> events.touch(tx, sessionId, stored, newPeople(st, stored)).map(v -> stored))
          // the transaction rolls back: the numbers and the people are in doubt
          .onFailure(err -> states.remove(sessionId));
    });
  }

  private static List<String> newPeople(State st, List<SessionEvent> stored) {
    List<String> out = new ArrayList<>();
    for (SessionEvent e : stored) {
      String person = EventStore.person(new SessionEvent.New(e.type(), e.runId(), e.payload()));
      if (person != null && st.people.add(person) && !out.contains(person)) {
        out.add(person);
      }
    }
    return out;
  }

  /** On the transaction's own connection: waiting for another one while holding it could starve the pool. */
  private Future<State> state(SqlClient tx, String sessionId) {
    State st = states.get(sessionId);
    if (st != null) {
      return Future.succeededFuture(st);
    }
    return events.nextSeq(tx, sessionId).compose(next -> events.participants(tx, sessionId).map(people -> {
      // another append may have loaded it meanwhile: keep the one already handing out numbers
      State loaded = states.get(sessionId);
      if (loaded == null) {
        loaded = new State(next, people);
        states.put(sessionId, loaded);
      }
      return loaded;
    }));
  }
}
