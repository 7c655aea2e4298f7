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
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** SQL for sessions and the key → current session mapping. */
public final class SessionStore {
  private static final String COLUMNS = "id, session_key, agent_id, status, source, metadata, created_at,"
      + " last_activity_at, last_seq, message_count, turn_count, description, description_source,"
      + " last_preview, working_memory";

  private final Pool pool;

  public SessionStore(Pool pool) {
    this.pool = Objects.requireNonNull(pool);
  }

  public Pool pool() {
    return pool;
  }

  /** The session a key points at now, or null. */
  public Future<Session> head(String sessionKey) {
    return pool.preparedQuery("SELECT " + prefixed("s") + " FROM session_heads h JOIN sessions s"
            + " ON s.id = h.session_id WHERE h.session_key = ?")
        .execute(Tuple.of(sessionKey))
        .map(SessionStore::first);
  }

  public Future<Session> find(String id) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM sessions WHERE id = ?")
        .execute(Tuple.of(id))
        .map(SessionStore::first);
  }

  /**
   * The current session of {@code sessionKey}, created if the key is new. Reopening keeps the
   * original source; non-empty {@code metadata} is merged into the stored metadata.
   */
  public Future<Session> open(String sessionKey, String agentId, JsonObject source, JsonObject metadata) {
    return head(sessionKey).compose(existing -> {
      if (existing == null) {
        return create(sessionKey, agentId, source, metadata);
      }
      if (metadata == null || metadata.isEmpty() || containsAll(existing.metadata(), metadata)) {
        return Future.succeededFuture(existing);
      }
      JsonObject merged = existing.metadata().copy().mergeIn(metadata, true);
      return pool.preparedQuery("UPDATE sessions SET metadata = ? WHERE id = ?")
          .execute(Tuple.of(merged.encode(), existing.id()))
          .compose(r -> find(existing.id()));
    });
  }

  private Future<Session> create(String sessionKey, String agentId, JsonObject source, JsonObject metadata) {
    String id = Ids.next();
    Instant now = Instant.now();
    // Two opens of a new key may race: the head insert decides which session id wins.
    return pool.withTransaction(c -> c
            .preparedQuery("INSERT INTO session_heads (session_key, session_id, agent_id, updated_at)"
                + " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
            .execute(Tuple.of(sessionKey, id, agentId, Rows.time(now)))
            .compose(r -> r.rowCount() == 0
                ? Future.succeededFuture()
                : insertSession(c, id, sessionKey, agentId, source, metadata, now)))
        .compose(v -> head(sessionKey));
  }

  /**
   * Starts a fresh session under the same key ({@code /new}, {@code /reset}); the old one stays
   * listed and searchable.
   */
  public Future<Session> roll(String sessionKey, String agentId, JsonObject source, JsonObject metadata) {
    String id = Ids.next();
    Instant now = Instant.now();
    return pool.withTransaction(c -> insertSession(c, id, sessionKey, agentId, source, metadata, now)
            .compose(v -> c.preparedQuery("UPDATE session_heads SET session_id = ?, agent_id = ?,"
                    + " updated_at = ? WHERE session_key = ?")
                .execute(Tuple.of(id, agentId, Rows.time(now), sessionKey)))
            .compose(r -> r.rowCount() > 0
                ? Future.succeededFuture()
                : c.preparedQuery("INSERT INTO session_heads (session_key, session_id, agent_id,"
                        + " updated_at) VALUES (?, ?, ?, ?)")
                    .execute(Tuple.of(sessionKey, id, agentId, Rows.time(now))).mapEmpty()))
        .compose(v -> find(id));
  }

  private static Future<Void> insertSession(SqlClient c, String id, String sessionKey, String agentId,
      JsonObject source, JsonObject metadata, Instant now) {
    return c.preparedQuery("INSERT INTO sessions (id, session_key, agent_id, status, source, metadata,"
            + " created_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .execute(Tuple.from(List.of(id, sessionKey, agentId, Session.IDLE,
            Rows.clip((source == null ? new JsonObject() : source).encode(), 4000),
            (metadata == null ? new JsonObject() : metadata).encode(), Rows.time(now), Rows.time(now))))
        .mapEmpty();
  }

  /** Sessions by most recent activity; {@code agentId} null means every agent. */
  public Future<List<Session>> list(String agentId, int limit, int offset) {
    String where = agentId == null ? "" : " WHERE agent_id = ?";
    Tuple args = agentId == null ? Tuple.tuple() : Tuple.of(agentId);
    args.addInteger(limit).addInteger(offset);
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM sessions" + where
            + " ORDER BY last_activity_at DESC, id DESC LIMIT ? OFFSET ?")
        .execute(args)
        .map(SessionStore::all);
  }

  public Future<Integer> count(String agentId) {
    String where = agentId == null ? "" : " WHERE agent_id = ?";
    return pool.preparedQuery("SELECT COUNT(*) AS n FROM sessions" + where)
        .execute(agentId == null ? Tuple.tuple() : Tuple.of(agentId))
        .map(rows -> rows.iterator().next().getLong("n").intValue());
  }

  /** Sessions that the current head of a key points at (one per key), newest first. */
  public Future<List<Session>> heads(String agentId, int limit, int offset) {
    String where = agentId == null ? "" : " WHERE h.agent_id = ?";
    Tuple args = agentId == null ? Tuple.tuple() : Tuple.of(agentId);
    args.addInteger(limit).addInteger(offset);
    return pool.preparedQuery("SELECT " + prefixed("s") + " FROM session_heads h JOIN sessions s"
            + " ON s.id = h.session_id" + where
            + " ORDER BY s.last_activity_at DESC, s.id DESC LIMIT ? OFFSET ?")
        .execute(args)
        .map(SessionStore::all);
  }

  public Future<Integer> countHeads(String agentId) {
    String where = agentId == null ? "" : " WHERE agent_id = ?";
    return pool.preparedQuery("SELECT COUNT(*) AS n FROM session_heads" + where)
        .execute(agentId == null ? Tuple.tuple() : Tuple.of(agentId))
        .map(rows -> rows.iterator().next().getLong("n").intValue());
  }

  public Future<Void> setStatus(String id, String status) {
    return pool.preparedQuery("UPDATE sessions SET status = ? WHERE id = ?")
        .execute(Tuple.of(status, id)).mapEmpty();
  }

  /** Replaces a session's working memory (null clears it); false when there is no such session. */
  public Future<Boolean> setWorkingMemory(String id, String text) {
    return pool.preparedQuery("UPDATE sessions SET working_memory = ? WHERE id = ?")
        .execute(Tuple.of(text, id)).map(r -> r.rowCount() == 1);
  }

  /** The people who wrote in a session, in order of first appearance. */
  public Future<List<String>> participants(String sessionId) {
    return pool.preparedQuery("SELECT person FROM session_participants WHERE session_id = ? ORDER BY first_seen, person")
        .execute(Tuple.of(sessionId))
        .map(rows -> {
          List<String> out = new ArrayList<>();
          rows.forEach(r -> out.add(r.getString("person")));
          return out;
        });
  }

  /** Every session of a key, newest first (the current one and those /new or /reset replaced). */
  public Future<List<Session>> ofKey(String sessionKey) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM sessions WHERE session_key = ? ORDER BY created_at DESC, id DESC")
        .execute(Tuple.of(sessionKey))
        .map(SessionStore::all);
  }

  /**
   * Sessions whose key, description or last message contains {@code text} (case-insensitive),
   * including the ones /new replaced; newest activity first.
   */
  public Future<List<Session>> search(String agentId, String text, int limit, int offset) {
    String like = "%" + text.toLowerCase(java.util.Locale.ROOT).replace("\\", "\\\\").replace("%", "\\%")
        .replace("_", "\\_") + "%";
    String where = " WHERE (LOWER(session_key) LIKE ? ESCAPE '\\' OR LOWER(description) LIKE ? ESCAPE '\\'"
        + " OR LOWER(last_preview) LIKE ? ESCAPE '\\')" + (agentId == null ? "" : " AND agent_id = ?");
    Tuple args = Tuple.of(like, like, like);
    if (agentId != null) {
      args.addString(agentId);
    }
    args.addInteger(limit).addInteger(offset);
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM sessions" + where
            + " ORDER BY last_activity_at DESC, id DESC LIMIT ? OFFSET ?")
        .execute(args)
        .map(SessionStore::all);
  }

  /**
   * Deletes a direct session that is not running, with its events and participants; the key's head
   * goes too when it pointed at it. Group sessions are kept. True when deleted.
   */
  public Future<Boolean> deleteDirect(String id) {
    return pool.withTransaction(c -> c.preparedQuery("SELECT source, status FROM sessions WHERE id = ?")
        .execute(Tuple.of(id))
        .compose(rows -> {
          var it = rows.iterator();
          if (!it.hasNext()) {
            return Future.succeededFuture(false);
          }
          Row r = it.next();
          boolean direct = "direct".equals(new JsonObject(r.getString("source")).getString("type", "direct"));
          if (!direct || Session.RUNNING.equals(r.getString("status"))) {
            return Future.succeededFuture(false);
          }
          return c.preparedQuery("DELETE FROM session_events WHERE session_id = ?").execute(Tuple.of(id))
              .compose(x -> c.preparedQuery("DELETE FROM session_participants WHERE session_id = ?").execute(Tuple.of(id)))
              .compose(x -> c.preparedQuery("DELETE FROM session_heads WHERE session_id = ?").execute(Tuple.of(id)))
              .compose(x -> c.preparedQuery("DELETE FROM sessions WHERE id = ?").execute(Tuple.of(id)))
              .map(x -> x.rowCount() == 1);
        }));
  }

  /** Sessions left {@code running} by a process that stopped mid-turn. */
  public Future<Integer> resetRunning() {
    return pool.preparedQuery("UPDATE sessions SET status = ? WHERE status = ?")
        .execute(Tuple.of(Session.IDLE, Session.RUNNING)).map(RowSet::rowCount);
  }

  private static final String USAGE_SUMS = "COALESCE(SUM(input_tokens), 0) AS input_tokens,"
      + " COALESCE(SUM(output_tokens), 0) AS output_tokens, COALESCE(SUM(cached_tokens), 0) AS cached_tokens,"
      + " COALESCE(SUM(cost_nanos), 0) AS cost_nanos, COALESCE(SUM(unpriced_turns), 0) AS unpriced_turns,"
      + " COALESCE(SUM(model_calls), 0) AS model_calls, COALESCE(SUM(turn_count), 0) AS turn_count";

  /** Usage summed over every session of the workspace (this schema). */
  public Future<UsageTotals> usageTotals() {
    return pool.preparedQuery("SELECT " + USAGE_SUMS + " FROM sessions").execute(Tuple.tuple())
        .map(rows -> usage(rows.iterator().next()));
  }

  /** Usage summed over the sessions of one key (every session id it pointed at: /new keeps the key). */
  public Future<UsageTotals> usageOfKey(String sessionKey) {
    return pool.preparedQuery("SELECT " + USAGE_SUMS + " FROM sessions WHERE session_key = ?")
        .execute(Tuple.of(sessionKey))
        .map(rows -> usage(rows.iterator().next()));
  }

  /**
   * Usage of each of these session keys (every session id each has pointed at), in one query; keys
   * without sessions are left out.
   */
  public Future<Map<String, UsageTotals>> usageOfKeys(Collection<String> sessionKeys) {
    if (sessionKeys.isEmpty()) {
      return Future.succeededFuture(Map.of());
    }
    List<String> keys = List.copyOf(new LinkedHashSet<>(sessionKeys));
    String marks = String.join(", ", Collections.nCopies(keys.size(), "?"));
    return pool.preparedQuery("SELECT session_key, " + USAGE_SUMS + " FROM sessions WHERE session_key IN (" + marks
            + ") GROUP BY session_key")
        .execute(Tuple.from(new ArrayList<Object>(keys)))
        .map(rows -> {
          Map<String, UsageTotals> out = new HashMap<>();
          rows.forEach(r -> out.put(r.getString("session_key"), usage(r)));
          return out;
        });
  }

  /** Usage of one session id. */
  public Future<UsageTotals> usageOf(String sessionId) {
    return pool.preparedQuery("SELECT " + USAGE_SUMS + " FROM sessions WHERE id = ?").execute(Tuple.of(sessionId))
        .map(rows -> usage(rows.iterator().next()));
  }

  /** Per session key, most tokens first: {@code [{sessionKey, agentId, usage}]}. */
  public Future<List<JsonObject>> usageByKey(int limit) {
    return pool.preparedQuery("SELECT session_key, MIN(agent_id) AS agent_id, " + USAGE_SUMS + " FROM sessions"
            + " GROUP BY session_key ORDER BY SUM(input_tokens + output_tokens) DESC, session_key LIMIT ?")
        .execute(Tuple.of(limit))
        .map(rows -> {
          List<JsonObject> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(new JsonObject().put("sessionKey", r.getString("session_key"))
                .put("agentId", r.getString("agent_id")).put("usage", usage(r).toJson()));
          }
          return out;
        });
  }

  private static UsageTotals usage(Row r) {
    return new UsageTotals(num(r, "input_tokens"), num(r, "output_tokens"), num(r, "cached_tokens"),
        num(r, "cost_nanos"), num(r, "unpriced_turns"), num(r, "model_calls"), num(r, "turn_count"));
  }

  private static long num(Row r, String column) {
    Object v = r.getValue(column);
    return v instanceof Number n ? n.longValue() : v == null ? 0 : new java.math.BigDecimal(v.toString()).longValue();
  }

  /** Whether every top-level value of {@code want} is already in {@code have} (a merge would change nothing). */
  public static boolean containsAll(JsonObject have, JsonObject want) {
    for (String k : want.fieldNames()) {
      if (!Objects.equals(have.getValue(k), want.getValue(k))) {
        return false;
      }
    }
    return true;
  }

  private static String prefixed(String alias) {
    StringBuilder sb = new StringBuilder();
    for (String c : COLUMNS.split(",")) {
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append(alias).append('.').append(c.trim());
    }
    return sb.toString();
  }

  private static Session first(RowSet<Row> rows) {
    var it = rows.iterator();
    return it.hasNext() ? map(it.next()) : null;
  }

  private static List<Session> all(RowSet<Row> rows) {
    List<Session> out = new ArrayList<>(rows.size());
    rows.forEach(r -> out.add(map(r)));
    return out;
  }

  static Session map(Row r) {
    return new Session(r.getString("id"), r.getString("session_key"), r.getString("agent_id"),
        r.getString("status"), Rows.object(r, "source"), Rows.object(r, "metadata"),
        Rows.instant(r, "created_at"), Rows.instant(r, "last_activity_at"),
        r.getLong("last_seq"), r.getInteger("message_count"), r.getInteger("turn_count"),
        r.getString("description"), r.getString("description_source"), r.getString("last_preview"),
        r.getString("working_memory"));
  }
}
