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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/** SQL for accepted inbound messages: dedupe on arrival, durable queue across restarts. */
public final class InboundStore {
  private static final String COLUMNS = "id, channel, account_id, platform_message_id, run_id, session_key,"
      + " session_id, status, payload, received_at";

  /** A share of a broadcast message whose run has not finished yet. */
  public static final String SHARE_PENDING = "pending";

  private final Pool pool;
  private final GroupCommit writes;

  public InboundStore(Pool pool) {
    this(pool, null);
  }

  /** Accepting messages goes through {@code writes} (the channel verticle's group commit) when given one. */
  public InboundStore(Pool pool, GroupCommit writes) {
    this.pool = Objects.requireNonNull(pool);
    this.writes = writes;
  }

  /**
   * Stores a new inbound message, or finds the one already stored under the same
   * (channel, account, platform message id), which is then returned with {@code duplicate = true}.
   */
  public Future<InboundRecord> accept(String channel, String accountId, String platformMessageId,
      String runId, JsonObject payload) {
    String id = Ids.next();
    Instant now = Instant.now();
    Function<SqlClient, Future<InboundRecord>> work = c -> c.preparedQuery("INSERT INTO inbound (id, channel,"
            + " account_id, platform_message_id, run_id, status, payload, received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT DO NOTHING")
        .execute(Tuple.from(List.of(id, channel, accountId, platformMessageId, runId,
            InboundRecord.RECEIVED, payload.encode(), Rows.time(now), Rows.time(now))))
        .compose(r -> {
          if (r.rowCount() == 1) {
            return Future.succeededFuture(new InboundRecord(id, channel, accountId, platformMessageId,
                runId, null, null, InboundRecord.RECEIVED, payload, now, false));
          }
          return c.preparedQuery("SELECT " + COLUMNS + " FROM inbound WHERE channel = ? AND"
                  + " account_id = ? AND platform_message_id = ?")
              .execute(Tuple.of(channel, accountId, platformMessageId))
              .map(rows -> {
                InboundRecord found = first(rows);
                if (found == null) {
                  throw new IllegalStateException("inbound conflict but no row for " + platformMessageId);
                }
                return new InboundRecord(found.id(), found.channel(), found.accountId(),
                    found.platformMessageId(), found.runId(), found.sessionKey(), found.sessionId(),
                    found.status(), found.payload(), found.receivedAt(), true);
              });
        });
    return writes == null ? work.apply(pool) : writes.run(work);
  }

  /** Marks an inbound finished; inside the caller's transaction when given one. */
  public Future<Void> finish(SqlClient c, String id, String status) {
    return c.preparedQuery("UPDATE inbound SET status = ?, updated_at = ? WHERE id = ?")
        .execute(Tuple.of(status, Rows.time(Instant.now()), id))
        .mapEmpty();
  }

  public Future<Void> finish(String id, String status) {
    return finish(pool, id, status);
  }

  /**
   * Marks an inbound finished and records the session it went to (the first one, for a message
   * several agents answered); inside the caller's transaction when given one.
   */
  public Future<Void> finish(SqlClient c, String id, String status, String sessionKey, String sessionId) {
    return c.preparedQuery("UPDATE inbound SET status = ?, session_key = COALESCE(session_key, ?),"
            + " session_id = COALESCE(session_id, ?), updated_at = ? WHERE id = ?")
        .execute(Tuple.of(status, sessionKey, sessionId, Rows.time(Instant.now()), id))
        .mapEmpty();
  }

  public Future<InboundRecord> byRun(String runId) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM inbound WHERE run_id = ? ORDER BY received_at")
        .execute(Tuple.of(runId))
        .map(InboundStore::first);
  }

  /** When the newest unfinished message was accepted, or null when none is: where a replay ends. */
  public Future<Instant> lastUnfinishedAt() {
    return pool.preparedQuery("SELECT MAX(received_at) AS last FROM inbound WHERE status IN (?, ?)")
        .execute(Tuple.of(InboundRecord.RECEIVED, InboundRecord.QUEUED))
        .map(rows -> Rows.instant(rows.iterator().next(), "last"));
  }

  /**
   * Messages accepted up to {@code receivedBy} but not finished, oldest first, after {@code after}
   * (null: from the start): one page of the durable queue to resume after a restart. Keyset paging,
   * so a page is found the same way whether or not the rows before it were finished meanwhile.
   */
  public Future<List<InboundRecord>> unfinished(Instant receivedBy, InboundRecord after, int limit) {
    String page = after == null ? "" : " AND (received_at > ? OR (received_at = ? AND id > ?))";
    Tuple args = Tuple.of(InboundRecord.RECEIVED, InboundRecord.QUEUED, Rows.time(receivedBy));
    if (after != null) {
      args.addValue(Rows.time(after.receivedAt())).addValue(Rows.time(after.receivedAt())).addString(after.id());
    }
    args.addInteger(limit);
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM inbound WHERE status IN (?, ?) AND received_at <= ?"
            + page + " ORDER BY received_at, id LIMIT ?")
        .execute(args)
        .map(rows -> {
          List<InboundRecord> out = new ArrayList<>(rows.size());
          rows.forEach(r -> out.add(map(r)));
          return out;
        });
  }

  /**
   * Records the runs that share one inbound message (the agents of a broadcast group); shares
   * recorded before (a message resumed after a restart) stay as they are.
   */
  public Future<Void> addShares(String inboundId, Map<String, String> runToAgent) {
    List<Tuple> rows = new ArrayList<>();
    Object now = Rows.time(Instant.now());
    runToAgent.forEach((run, agent) -> rows.add(Tuple.of(inboundId, run, agent, SHARE_PENDING, now)));
    return pool.preparedQuery("INSERT INTO inbound_shares (inbound_id, run_id, agent_id, status, updated_at)"
            + " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        .executeBatch(rows)
        .mapEmpty();
  }

  /** The runs of a shared inbound message that have finished. */
  public Future<Set<String>> finishedShares(String inboundId) {
    return pool.preparedQuery("SELECT run_id FROM inbound_shares WHERE inbound_id = ? AND status <> ?")
        .execute(Tuple.of(inboundId, SHARE_PENDING))
        .map(rows -> {
          Set<String> out = new LinkedHashSet<>();
          rows.forEach(r -> out.add(r.getString("run_id")));
          return out;
        });
  }

  /**
   * Finishes one run's share of an inbound message, inside the caller's transaction; the message
   * itself becomes {@code done} once no share is pending, and records the session of the first share
   * that finished. The inbound row is locked first, so two
   * shares finishing at once in different transactions cannot both see the other still pending.
   */
  public Future<Void> finishShare(SqlClient c, String inboundId, String runId, String status, String sessionKey,
      String sessionId) {
    Object now = Rows.time(Instant.now());
    return c.preparedQuery("SELECT id FROM inbound WHERE id = ? FOR UPDATE").execute(Tuple.of(inboundId))
        .compose(x -> c.preparedQuery("UPDATE inbound_shares SET status = ?, updated_at = ? WHERE inbound_id = ?"
                + " AND run_id = ?")
            .execute(Tuple.of(status, now, inboundId, runId)))
        .compose(x -> c.preparedQuery("UPDATE inbound SET status = CASE WHEN EXISTS (SELECT 1 FROM inbound_shares"
                + " WHERE inbound_id = ? AND status = ?) THEN status ELSE ? END, session_key = COALESCE(session_key, ?),"
                + " session_id = COALESCE(session_id, ?), updated_at = ? WHERE id = ?")
            // the session key and id may be null (a share that never opened one): Tuple.of takes nulls
            .execute(Tuple.of(inboundId, SHARE_PENDING, InboundRecord.DONE, sessionKey, sessionId, now, inboundId)))
        .mapEmpty();
  }

  private static InboundRecord first(RowSet<Row> rows) {
    var it = rows.iterator();
    return it.hasNext() ? map(it.next()) : null;
  }

  private static InboundRecord map(Row r) {
    return new InboundRecord(r.getString("id"), r.getString("channel"), r.getString("account_id"),
        r.getString("platform_message_id"), r.getString("run_id"), r.getString("session_key"),
        r.getString("session_id"), r.getString("status"), Rows.object(r, "payload"),
        Rows.instant(r, "received_at"), false);
  }
}
