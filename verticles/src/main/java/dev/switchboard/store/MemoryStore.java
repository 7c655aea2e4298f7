package dev.switchboard.store;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/** SQL for memory entries. Search is portable substring matching on every term. */
public final class MemoryStore {
  private static final String COLUMNS = "id, agent_id, kind, text, tags, source_session_id, created_at, updated_at";

  private final Pool pool;

  public MemoryStore(Pool pool) {
    this.pool = Objects.requireNonNull(pool);
  }

  public Future<MemoryEntry> write(String agentId, String kind, String text, JsonArray tags,
      String sourceSessionId) {
    Instant now = Instant.now();
    MemoryEntry e = new MemoryEntry(Ids.next(), agentId, kind, text, tags, sourceSessionId, now, now);
    return pool.preparedQuery("INSERT INTO memory_entries (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .execute(Tuple.from(Arrays.asList(e.id(), agentId, kind, text, Rows.clip(tags.encode(), 1000),
            sourceSessionId, Rows.time(now), Rows.time(now))))
        .map(r -> e);
  }

  /**
   * Entries of {@code agentId} whose text contains every whitespace-separated term of
   * {@code query} (case-insensitive), newest first.
   */
  public Future<List<MemoryEntry>> search(String agentId, String query, int limit) {
    List<String> terms = new ArrayList<>();
    for (String t : query.toLowerCase(Locale.ROOT).split("\\s+")) {
      if (!t.isBlank() && terms.size() < 8) {
        terms.add(t);
      }
    }
    StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM memory_entries WHERE agent_id = ?");
    Tuple args = Tuple.of(agentId);
    for (String t : terms) {
      sql.append(" AND LOWER(text) LIKE ? ESCAPE '\\'");
      args.addString("%" + t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%");
    }
    sql.append(" ORDER BY updated_at DESC, id DESC LIMIT ?");
    args.addInteger(limit);
    return pool.preparedQuery(sql.toString()).execute(args).map(MemoryStore::all);
  }

  public Future<List<MemoryEntry>> recent(String agentId, int limit) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM memory_entries WHERE agent_id = ?"
            + " ORDER BY updated_at DESC, id DESC LIMIT ?")
        .execute(Tuple.of(agentId, limit)).map(MemoryStore::all);
  }

  /** The checkpoint written for a session, or null. */
  public Future<MemoryEntry> checkpointOf(String agentId, String sessionId) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM memory_entries WHERE agent_id = ? AND kind = 'checkpoint'"
            + " AND source_session_id = ? ORDER BY created_at LIMIT 1")
        .execute(Tuple.of(agentId, sessionId))
        .map(rows -> all(rows).stream().findFirst().orElse(null));
  }

  public Future<Boolean> delete(String agentId, String id) {
    return pool.preparedQuery("DELETE FROM memory_entries WHERE agent_id = ? AND id = ?")
        .execute(Tuple.of(agentId, id)).map(r -> r.rowCount() == 1);
  }

  private static List<MemoryEntry> all(RowSet<Row> rows) {
    List<MemoryEntry> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      out.add(new MemoryEntry(r.getString("id"), r.getString("agent_id"), r.getString("kind"),
          r.getString("text"), Rows.array(r, "tags"), r.getString("source_session_id"),
          Rows.instant(r, "created_at"), Rows.instant(r, "updated_at")));
    }
    return out;
  }
}
