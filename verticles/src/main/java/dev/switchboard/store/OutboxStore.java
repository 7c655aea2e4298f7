package dev.switchboard.store;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * SQL for delivery obligations. State changes are guarded by the expected current state, and every
 * change out of {@code sending} also by the owner token that claimed it.
 */
public final class OutboxStore {
  private static final String COLUMNS = "id, run_id, session_id, channel, account_id, target, payload, status,"
      + " attempts, next_attempt_at, created_at, delivered_at, last_error, receipts, reconcile, marked";

  private final Pool pool;
  private final GroupCommit writes;

  public OutboxStore(Pool pool) {
    this(pool, null);
  }

  /** State changes go through {@code writes} (the delivery verticle's group commit) when given one. */
  public OutboxStore(Pool pool, GroupCommit writes) {
    this.pool = Objects.requireNonNull(pool);
    this.writes = writes;
  }

  private <R> Future<R> write(Function<SqlClient, Future<R>> work) {
    return writes == null ? work.apply(pool) : writes.run(work);
  }

  /** Inserts within the caller's transaction (the one that stores the reply). */
  public Future<Void> insert(SqlClient c, Obligation o) {
    return c.preparedQuery("INSERT INTO outbox (id, run_id, session_id, channel, account_id, target, payload,"
            + " status, attempts, next_attempt_at, created_at, updated_at, delivered_at)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .execute(Tuple.from(Arrays.asList(o.id(), o.runId(), o.sessionId(), o.channel(), o.accountId(),
            Rows.clip(o.target().encode(), 4000), o.payload().encode(), o.status(), o.attempts(),
            Rows.time(o.nextAttemptAt()), Rows.time(o.createdAt()), Rows.time(o.createdAt()),
            o.deliveredAt() == null ? null : Rows.time(o.deliveredAt()))))
        .mapEmpty();
  }

  public Future<Void> insert(Obligation o) {
    return insert(pool, o);
  }

  public Future<Obligation> find(String id) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM outbox WHERE id = ?")
        .execute(Tuple.of(id)).map(OutboxStore::first);
  }

  public Future<List<Obligation>> ofRun(String runId) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM outbox WHERE run_id = ? ORDER BY created_at, id")
        .execute(Tuple.of(runId)).map(OutboxStore::all);
  }

  /**
   * Takes a due pending obligation for sending, as {@code owner} (the claiming process's token).
   * True when this caller won it; false when it is not due, not pending or someone else took it.
   */
  public Future<Boolean> claim(String id, Instant now, String owner) {
    return write(c -> c.preparedQuery("UPDATE outbox SET status = ?, attempts = attempts + 1, updated_at = ?,"
            + " claimed_by = ? WHERE id = ? AND status = ? AND next_attempt_at <= ?")
        .execute(Tuple.of(Obligation.SENDING, Rows.time(now), owner, id, Obligation.PENDING, Rows.time(now)))
        .map(r -> r.rowCount() == 1));
  }

  /**
   * Pending obligations whose time has come, oldest first, except those of the {@code waiting}
   * channel accounts (configured, but their adapter has not announced them yet): those wait without
   * crowding out the others.
   */
  public Future<List<Obligation>> due(Instant now, int limit, Collection<Map.Entry<String, String>> waiting) {
    StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM outbox WHERE status = ? AND next_attempt_at <= ?");
    List<Object> args = new ArrayList<>(List.of(Obligation.PENDING, Rows.time(now)));
    for (Map.Entry<String, String> a : waiting) {
      sql.append(" AND NOT (channel = ? AND account_id = ?)");
      args.add(a.getKey());
      args.add(a.getValue());
    }
    sql.append(" ORDER BY next_attempt_at, id LIMIT ?");
    args.add(limit);
    return pool.preparedQuery(sql.toString()).execute(Tuple.from(args)).map(OutboxStore::all);
  }


  /** When the next pending obligation becomes due, or null when none is pending. */
  public Future<Instant> nextDue() {
    return pool.preparedQuery("SELECT MIN(next_attempt_at) AS t FROM outbox WHERE status = ?")
        .execute(Tuple.of(Obligation.PENDING))
        .map(rows -> Rows.instant(rows.iterator().next(), "t"));
  }

  /**
   * Records the chunks sent so far, so a retry resumes after them. False when {@code owner} no
   * longer holds the claim (nothing is written).
   */
  public Future<Boolean> progress(String id, String owner, JsonArray receipts, boolean reconcile, boolean marked) {
    return write(c -> c.preparedQuery("UPDATE outbox SET receipts = ?, reconcile = ?, marked = ?, updated_at = ?"
            + " WHERE id = ? AND status = ? AND claimed_by = ?")
        .execute(Tuple.of(receipts.encode(), reconcile, marked, Rows.time(Instant.now()), id, Obligation.SENDING, owner))
        .map(r -> r.rowCount() == 1));
  }

  /** Sending → delivered; false when {@code owner} no longer holds the claim. */
  public Future<Boolean> delivered(String id, String owner, JsonArray receipts) {
    Instant now = Instant.now();
    return write(c -> c.preparedQuery("UPDATE outbox SET status = ?, delivered_at = ?, updated_at = ?, receipts = ?,"
            + " last_error = NULL, claimed_by = NULL WHERE id = ? AND status = ? AND claimed_by = ?")
        .execute(Tuple.of(Obligation.DELIVERED, Rows.time(now), Rows.time(now), receipts.encode(), id,
            Obligation.SENDING, owner))
        .map(r -> r.rowCount() == 1));
  }

  /**
   * Sending → pending again after a failed or unconfirmed attempt (chunks sent so far are kept);
   * false when {@code owner} no longer holds the claim.
   */
  public Future<Boolean> retryAt(String id, String owner, Instant when, String error, boolean reconcile) {
    return write(c -> c.preparedQuery("UPDATE outbox SET status = ?, next_attempt_at = ?, updated_at = ?,"
            + " last_error = ?, reconcile = ?, claimed_by = NULL WHERE id = ? AND status = ? AND claimed_by = ?")
        .execute(Tuple.from(Arrays.asList(Obligation.PENDING, Rows.time(when), Rows.time(Instant.now()),
            Rows.clip(error, 2000), reconcile, id, Obligation.SENDING, owner)))
        .map(r -> r.rowCount() == 1));
  }

  /**
   * Sending → {@code failed} or {@code ambiguous}, for good; false when {@code owner} no longer
   * holds the claim.
   */
  public Future<Boolean> fail(String id, String owner, String status, String error) {
    return write(c -> c.preparedQuery("UPDATE outbox SET status = ?, updated_at = ?, last_error = ?, claimed_by = NULL"
            + " WHERE id = ? AND status = ? AND claimed_by = ?")
        .execute(Tuple.from(Arrays.asList(status, Rows.time(Instant.now()), Rows.clip(error, 2000), id,
            Obligation.SENDING, owner)))
        .map(r -> r.rowCount() == 1));
  }

  /**
   * Obligations that other processes ({@code owner} is this one's token) left in {@code sending}:
   * their last send may or may not have arrived. They go back in line, to be reconciled before
   * anything is sent again; a late outcome from their old owner then changes nothing.
   */
  public Future<Integer> recoverSending(String owner) {
    return pool.preparedQuery("UPDATE outbox SET status = ?, reconcile = ?, updated_at = ?, last_error = ?,"
            + " claimed_by = NULL WHERE status = ? AND (claimed_by IS NULL OR claimed_by <> ?)")
        .execute(Tuple.of(Obligation.PENDING, true, Rows.time(Instant.now()),
            "the process stopped while sending; outcome unknown", Obligation.SENDING, owner))
        .map(RowSet::rowCount);
  }

  public Future<Integer> countByStatus(String status) {
    return pool.preparedQuery("SELECT COUNT(*) AS n FROM outbox WHERE status = ?")
        .execute(Tuple.of(status)).map(rows -> rows.iterator().next().getLong("n").intValue());
  }

  private static Obligation first(RowSet<Row> rows) {
    var it = rows.iterator();
    return it.hasNext() ? map(it.next()) : null;
  }

  private static List<Obligation> all(RowSet<Row> rows) {
    List<Obligation> out = new ArrayList<>(rows.size());
    rows.forEach(r -> out.add(map(r)));
    return out;
  }

  private static Obligation map(Row r) {
    return new Obligation(r.getString("id"), r.getString("run_id"), r.getString("session_id"),
        r.getString("channel"), r.getString("account_id"), Rows.object(r, "target"),
        Rows.object(r, "payload"), r.getString("status"), r.getInteger("attempts"),
        Rows.instant(r, "next_attempt_at"), Rows.instant(r, "created_at"), Rows.instant(r, "delivered_at"),
        r.getString("last_error"), Rows.array(r, "receipts"), Boolean.TRUE.equals(r.getBoolean("reconcile")),
        Boolean.TRUE.equals(r.getBoolean("marked")));
  }
}
