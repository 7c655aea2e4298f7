package dev.switchboard.store;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * SQL for DM pairing: pending requests (one per sender, codes unique per account), approved
 * senders, and the count of failed approvals that locks an account's approvals for a while. The
 * rules (code alphabet, expiry, rate, caps) live in {@code routing.Pairing}; this class only stores.
 */
public final class PairingStore {
  private static final String REQUEST_COLUMNS = "channel, account_id, sender_id, sender_name, code, target, created_at,"
      + " expires_at, notified_at";

  /** A pending request: who asked, the code, and the chat the code went to (as reply-target JSON). */
  public record Request(String channel, String accountId, String senderId, String senderName, String code,
      JsonObject target, Instant createdAt, Instant expiresAt, Instant notifiedAt) {
  }

  /** An approved sender. */
  public record Approval(String channel, String accountId, String senderId, String senderName, String approvedBy,
      Instant approvedAt) {
  }

  /** Failed approvals on an account so far, and until when approvals are locked (null: not locked). */
  public record Lockout(int failures, Instant lockedUntil) {
    public boolean locked(Instant now) {
      return lockedUntil != null && lockedUntil.isAfter(now);
    }
  }

  private final Pool pool;

  public PairingStore(Pool pool) {
    this.pool = Objects.requireNonNull(pool);
  }

  public Future<Boolean> isApproved(String channel, String accountId, String senderId) {
    return pool.preparedQuery("SELECT COUNT(*) FROM pairing_approvals WHERE channel = ? AND account_id = ? AND sender_id = ?")
        .execute(Tuple.of(channel, accountId, senderId))
        .map(rows -> rows.iterator().next().getLong(0) > 0);
  }

  /** Removes an account's expired requests. */
  public Future<Void> purgeExpired(String channel, String accountId, Instant now) {
    return pool.preparedQuery("DELETE FROM pairing_requests WHERE channel = ? AND account_id = ? AND expires_at <= ?")
        .execute(Tuple.of(channel, accountId, Rows.time(now)))
        .mapEmpty();
  }

  /** The sender's request if it has not expired, or null. */
  public Future<Request> pending(String channel, String accountId, String senderId, Instant now) {
    return pool.preparedQuery("SELECT " + REQUEST_COLUMNS + " FROM pairing_requests WHERE channel = ? AND account_id = ?"
            + " AND sender_id = ? AND expires_at > ?")
        .execute(Tuple.of(channel, accountId, senderId, Rows.time(now)))
        .map(rows -> rows.iterator().hasNext() ? request(rows.iterator().next()) : null);
  }

  /** Requests that have not expired, on every account, oldest first. */
  public Future<List<Request>> listPending(Instant now) {
    return pool.preparedQuery("SELECT " + REQUEST_COLUMNS + " FROM pairing_requests WHERE expires_at > ?"
            + " ORDER BY created_at, sender_id")
        .execute(Tuple.of(Rows.time(now)))
        .map(rows -> {
          List<Request> out = new ArrayList<>();
          rows.forEach(r -> out.add(request(r)));
          return out;
        });
  }

  public Future<Integer> countPending(String channel, String accountId, Instant now) {
    return pool.preparedQuery("SELECT COUNT(*) FROM pairing_requests WHERE channel = ? AND account_id = ? AND expires_at > ?")
        .execute(Tuple.of(channel, accountId, Rows.time(now)))
        .map(rows -> (int) rows.iterator().next().getLong(0).longValue());
  }

  /** Stores a new request; false when the sender already has one or the code is taken on the account. */
  public Future<Boolean> insert(Request r) {
    return pool.preparedQuery("INSERT INTO pairing_requests (" + REQUEST_COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            + " ON CONFLICT DO NOTHING")
        .execute(Tuple.from(List.of(r.channel(), r.accountId(), r.senderId(), nullable(r.senderName()), r.code(),
            r.target().encode(), Rows.time(r.createdAt()), Rows.time(r.expiresAt()), Rows.time(r.notifiedAt()))))
        .map(rows -> rows.rowCount() == 1);
  }

  public Future<Void> notified(String channel, String accountId, String senderId, Instant at) {
    return pool.preparedQuery("UPDATE pairing_requests SET notified_at = ? WHERE channel = ? AND account_id = ? AND sender_id = ?")
        .execute(Tuple.of(Rows.time(at), channel, accountId, senderId))
        .mapEmpty();
  }

  /** Drops a sender's request (its code could not be delivered, so the next message may try again). */
  public Future<Void> withdraw(String channel, String accountId, String senderId) {
    return pool.preparedQuery("DELETE FROM pairing_requests WHERE channel = ? AND account_id = ? AND sender_id = ?")
        .execute(Tuple.of(channel, accountId, senderId))
        .mapEmpty();
  }

  public Future<Lockout> lockout(String channel, String accountId) {
    return lockout(pool, channel, accountId);
  }

  private static Future<Lockout> lockout(SqlClient c, String channel, String accountId) {
    return c.preparedQuery("SELECT failures, locked_until FROM pairing_lockouts WHERE channel = ? AND account_id = ?")
        .execute(Tuple.of(channel, accountId))
        .map(rows -> {
          if (!rows.iterator().hasNext()) {
            return new Lockout(0, null);
          }
          Row r = rows.iterator().next();
          return new Lockout(r.getInteger("failures"), Rows.instant(r, "locked_until"));
        });
  }

  /**
   * Approves the request holding {@code code} on an account, in one transaction: the sender is
   * approved, the request removed and the failure count cleared. Answers the approved request, or
   * null when no unexpired request holds the code (the caller counts that as a failure).
   */
  public Future<Request> approve(String channel, String accountId, String code, String approvedBy, Instant now) {
    return pool.withTransaction(c -> c.preparedQuery("SELECT " + REQUEST_COLUMNS + " FROM pairing_requests"
            + " WHERE channel = ? AND account_id = ? AND code = ? AND expires_at > ?")
        .execute(Tuple.of(channel, accountId, code, Rows.time(now)))
        .compose(rows -> {
          if (!rows.iterator().hasNext()) {
            return Future.succeededFuture(null);
          }
          Request r = request(rows.iterator().next());
          return c.preparedQuery("DELETE FROM pairing_requests WHERE channel = ? AND account_id = ? AND sender_id = ?")
              .execute(Tuple.of(channel, accountId, r.senderId()))
              .compose(x -> c.preparedQuery("INSERT INTO pairing_approvals (channel, account_id, sender_id, sender_name,"
                      + " approved_by, approved_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
                  .execute(Tuple.from(List.of(channel, accountId, r.senderId(), nullable(r.senderName()),
                      nullable(approvedBy), Rows.time(now)))))
              .compose(x -> c.preparedQuery("DELETE FROM pairing_lockouts WHERE channel = ? AND account_id = ?")
                  .execute(Tuple.of(channel, accountId)))
              .map(x -> r);
        }));
  }

  /**
   * Counts one failed approval on an account; at {@code maxFailures} approvals are locked until
   * {@code lockUntil}. Answers the new state.
   */
  public Future<Lockout> failed(String channel, String accountId, int maxFailures, Instant lockUntil, Instant now) {
    return pool.withTransaction(c -> c.preparedQuery("UPDATE pairing_lockouts SET failures = failures + 1, updated_at = ?"
            + " WHERE channel = ? AND account_id = ?")
        .execute(Tuple.of(Rows.time(now), channel, accountId))
        .compose(r -> r.rowCount() > 0 ? Future.<Void>succeededFuture()
            : c.preparedQuery("INSERT INTO pairing_lockouts (channel, account_id, failures, updated_at) VALUES (?, ?, ?, ?)")
                .execute(Tuple.of(channel, accountId, 1, Rows.time(now))).mapEmpty())
        .compose(x -> lockout(c, channel, accountId))
        .compose(l -> l.failures() < maxFailures ? Future.succeededFuture(l)
            : c.preparedQuery("UPDATE pairing_lockouts SET failures = 0, locked_until = ? WHERE channel = ? AND account_id = ?")
                .execute(Tuple.of(Rows.time(lockUntil), channel, accountId))
                .map(x -> new Lockout(l.failures(), lockUntil))));
  }

  public Future<List<Approval>> approvals() {
    return pool.preparedQuery("SELECT channel, account_id, sender_id, sender_name, approved_by, approved_at"
            + " FROM pairing_approvals ORDER BY approved_at, sender_id")
        .execute()
        .map(rows -> {
          List<Approval> out = new ArrayList<>();
          rows.forEach(r -> out.add(new Approval(r.getString("channel"), r.getString("account_id"),
              r.getString("sender_id"), r.getString("sender_name"), r.getString("approved_by"),
              Rows.instant(r, "approved_at"))));
          return out;
        });
  }

  /** Takes an approval back; true when there was one. */
  public Future<Boolean> revoke(String channel, String accountId, String senderId) {
    return pool.preparedQuery("DELETE FROM pairing_approvals WHERE channel = ? AND account_id = ? AND sender_id = ?")
        .execute(Tuple.of(channel, accountId, senderId))
        .map(rows -> rows.rowCount() > 0);
  }

  private static Object nullable(String s) {
    return s == null ? "" : s;
  }

  private static Request request(Row r) {
    return new Request(r.getString("channel"), r.getString("account_id"), r.getString("sender_id"),
        emptyToNull(r.getString("sender_name")), r.getString("code"), Rows.object(r, "target"),
        Rows.instant(r, "created_at"), Rows.instant(r, "expires_at"), Rows.instant(r, "notified_at"));
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
