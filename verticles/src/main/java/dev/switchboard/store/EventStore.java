package dev.switchboard.store;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * SQL for the per-session append-only event log. Events are numbered per session by their only
 * writer (the lane verticle's {@code SessionLog}); the primary key (session, seq) refuses a number
 * taken twice.
 */
public final class EventStore {
  /** Event types that are conversation messages (history, counts, previews). */
  public static final Set<String> MESSAGE_TYPES =
      Set.of(SessionEvent.USER_MESSAGE, SessionEvent.TEXT_FINAL, SessionEvent.ASSISTANT_NOTE);
  private static final String MESSAGE_TYPES_SQL = "('user_message', 'text_final', 'assistant_note')";
  private static final int PREVIEW_CHARS = 200;
  private static final int DESCRIPTION_CHARS = 80;

  private final Pool pool;

  public EventStore(Pool pool) {
    this.pool = Objects.requireNonNull(pool);
  }

  public Pool pool() {
    return pool;
  }

  /**
   * Inserts events numbered from {@code firstSeq} (the caller, the session's only writer, allocated
   * the numbers). The primary key refuses a number taken twice, so a second writer cannot
   * interleave silently. Session counters are left to {@link #touch}.
   */
  public Future<List<SessionEvent>> insertAt(SqlClient c, String sessionId, long firstSeq, List<SessionEvent.New> events) {
    Instant now = Instant.now();
    List<SessionEvent> stored = new ArrayList<>(events.size());
    List<Tuple> batch = new ArrayList<>(events.size());
    for (int i = 0; i < events.size(); i++) {
      SessionEvent.New e = events.get(i);
      SessionEvent se = new SessionEvent(sessionId, firstSeq + i, e.type(), e.runId(), e.payload(), now);
      stored.add(se);
      batch.add(Tuple.of(sessionId, se.seq(), se.type(), se.runId(), e.payload().encode(), Rows.time(now)));
    }
    return c.preparedQuery("INSERT INTO session_events (session_id, seq, type, run_id, payload, created_at)"
            + " VALUES (?, ?, ?, ?, ?, ?)")
        .executeBatch(batch)
        .map(x -> stored);
  }

  /**
   * Brings a session's row up to date with events stored by {@link #insertAt}: counters, preview,
   * activity time, status, description, usage, {@code last_seq}, and new participants.
   */
  public Future<Void> touch(SqlClient c, String sessionId, List<SessionEvent> stored, List<String> newPeople) {
    if (stored.isEmpty()) {
      return Future.succeededFuture();
    }
    Summary s = summarise(stored.stream().map(e -> new SessionEvent.New(e.type(), e.runId(), e.payload())).toList());
    Instant now = Instant.now();
    long lastSeq = stored.get(stored.size() - 1).seq();
    Future<?> update = c.preparedQuery("UPDATE sessions SET last_seq = GREATEST(last_seq, ?), message_count = message_count + ?,"
            + " turn_count = turn_count + ?, last_activity_at = ?, last_preview = COALESCE(?, last_preview),"
            + " status = CASE WHEN status = 'inactive' THEN status ELSE COALESCE(?, status) END,"
            + " description_source = CASE WHEN description IS NULL THEN COALESCE(CAST(? AS VARCHAR(32)),"
            + " description_source) ELSE description_source END,"
            + " description = COALESCE(description, ?),"
            + " input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, cached_tokens = cached_tokens + ?,"
            + " cost_nanos = cost_nanos + ?, unpriced_turns = unpriced_turns + ?, model_calls = model_calls + ?"
            + " WHERE id = ?")
        .execute(Tuple.from(java.util.Arrays.asList(lastSeq, s.messages, s.turns, Rows.time(now), s.preview, s.status,
            s.description == null ? null : "auto", s.description, s.used.inputTokens(), s.used.outputTokens(),
            s.used.cachedTokens(), s.used.costNanos(), s.used.unpricedTurns(), s.used.modelCalls(), sessionId)));
    if (newPeople.isEmpty()) {
      return update.mapEmpty();
    }
    List<Tuple> people = newPeople.stream().map(p -> Tuple.of(sessionId, Rows.clip(p, 256), Rows.time(now))).toList();
    return update.compose(x -> c.preparedQuery("INSERT INTO session_participants (session_id, person, first_seen)"
        + " VALUES (?, ?, ?) ON CONFLICT DO NOTHING").executeBatch(people)).mapEmpty();
  }

  /** The number the next event of a session gets: one past the highest stored (the log is the truth). */
  public Future<Long> nextSeq(String sessionId) {
    return nextSeq(pool, sessionId);
  }

  /** {@link #nextSeq(String)} on the given connection (inside a transaction that is about to append). */
  public Future<Long> nextSeq(SqlClient c, String sessionId) {
    return c.preparedQuery("SELECT COALESCE(MAX(seq), 0) AS last FROM session_events WHERE session_id = ?")
        .execute(Tuple.of(sessionId))
        .map(rows -> rows.iterator().next().getLong("last") + 1);
  }

  /** The people who wrote in a session so far. */
  public Future<java.util.Set<String>> participants(SqlClient c, String sessionId) {
    return c.preparedQuery("SELECT person FROM session_participants WHERE session_id = ?")
        .execute(Tuple.of(sessionId))
        .map(rows -> {
          java.util.Set<String> out = new java.util.HashSet<>();
          rows.forEach(r -> out.add(r.getString("person")));
          return out;
        });
  }

  /** The person behind a user message, or null. */
  public static String person(SessionEvent.New e) {
    if (!e.type().equals(SessionEvent.USER_MESSAGE)) {
      return null;
    }
    JsonObject sender = e.payload().getJsonObject("sender", new JsonObject());
    return sender.getString("person", sender.getString("id"));
  }

  /** What a batch of events changes in its session's row. */
  private record Summary(int messages, int turns, String preview, String status, String description, UsageTotals used) {
  }

  private static Summary summarise(List<SessionEvent.New> events) {
    int messages = 0;
    int turns = 0;
    String preview = null;
    String status = null;
    String description = null;
    UsageTotals used = UsageTotals.ZERO;
    for (SessionEvent.New e : events) {
      if (MESSAGE_TYPES.contains(e.type())) {
        String text = e.payload().getString("text", "");
        if (!text.isEmpty() || !e.type().equals(SessionEvent.TEXT_FINAL)) {
          messages++;
          preview = Rows.clip(text.strip(), PREVIEW_CHARS);
        }
      }
      if (e.type().equals(SessionEvent.USER_MESSAGE) && description == null
          && e.payload().getBoolean("triggered", true) && !e.payload().getBoolean("command", false)) {
        String d = Rows.clip(e.payload().getString("rawText", e.payload().getString("text", "")).strip()
            .replaceAll("\\s+", " "), DESCRIPTION_CHARS);
        description = d.isEmpty() ? null : d;
      }
      if (e.type().equals(SessionEvent.AGENT_START)) {
        status = Session.RUNNING;
      }
      if (e.type().equals(SessionEvent.AGENT_END)) {
        status = Session.IDLE;
        if ("ok".equals(e.payload().getString("status"))) {
          turns++;
        }
        used = used.plus(UsageTotals.ofTurn(e.payload()));
      }
    }
    return new Summary(messages, turns, preview, status, description, used);
  }

  /** The last {@code limit} conversation messages of a session, oldest first. */
  public Future<List<SessionEvent>> messages(String sessionId, int limit) {
    return messagesAfter(sessionId, 0, limit);
  }

  /** The last {@code limit} conversation messages with {@code seq > afterSeq}, oldest first. */
  public Future<List<SessionEvent>> messagesAfter(String sessionId, long afterSeq, int limit) {
    return pool.preparedQuery("SELECT session_id, seq, type, run_id, payload, created_at FROM session_events"
            + " WHERE session_id = ? AND seq > ? AND type IN " + MESSAGE_TYPES_SQL + " ORDER BY seq DESC LIMIT ?")
        .execute(Tuple.of(sessionId, afterSeq, limit))
        .map(rows -> {
          List<SessionEvent> out = all(rows);
          Collections.reverse(out);
          return out;
        });
  }

  /** The newest event of {@code type} in a session, or null. */
  public Future<SessionEvent> latest(String sessionId, String type) {
    return pool.preparedQuery("SELECT session_id, seq, type, run_id, payload, created_at FROM session_events"
            + " WHERE session_id = ? AND type = ? ORDER BY seq DESC LIMIT 1")
        .execute(Tuple.of(sessionId, type))
        .map(rows -> {
          List<SessionEvent> out = all(rows);
          return out.isEmpty() ? null : out.get(0);
        });
  }

  /** Number of conversation messages in a session. */
  public Future<Integer> countMessages(String sessionId) {
    return pool.preparedQuery("SELECT COUNT(*) AS n FROM session_events WHERE session_id = ? AND type IN "
            + MESSAGE_TYPES_SQL)
        .execute(Tuple.of(sessionId))
        .map(rows -> rows.iterator().next().getLong("n").intValue());
  }

  /** Events with {@code seq > afterSeq}, oldest first (backlog for subscribers). */
  public Future<List<SessionEvent>> after(String sessionId, long afterSeq, int limit) {
    return pool.preparedQuery("SELECT session_id, seq, type, run_id, payload, created_at FROM session_events"
            + " WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?")
        .execute(Tuple.of(sessionId, afterSeq, limit))
        .map(EventStore::all);
  }

  /** Every stored event of one run, in order. */
  public Future<List<SessionEvent>> ofRun(String runId) {
    return pool.preparedQuery("SELECT session_id, seq, type, run_id, payload, created_at FROM session_events"
            + " WHERE run_id = ? ORDER BY session_id, seq")
        .execute(Tuple.of(runId))
        .map(EventStore::all);
  }

  private static List<SessionEvent> all(RowSet<Row> rows) {
    List<SessionEvent> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      out.add(new SessionEvent(r.getString("session_id"), r.getLong("seq"), r.getString("type"),
          r.getString("run_id"), new JsonObject(r.getString("payload")), Rows.instant(r, "created_at")));
    }
    return out;
  }
}
