package dev.switchboard.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.Objects;

/**
 * SQL for the durable state of channel adapters: small name/value pairs per channel account, such
 * as Telegram's getUpdates offset or the hash of the command list last sent to the platform.
 */
public final class ChannelStateStore {
  private final Pool pool;

  public ChannelStateStore(Pool pool) {
    this.pool = Objects.requireNonNull(pool);
  }

  /** The stored value, or null. */
  public Future<String> get(String channel, String accountId, String name) {
    return pool.preparedQuery("SELECT state FROM channel_state WHERE channel = ? AND account_id = ? AND name = ?")
        .execute(Tuple.of(channel, accountId, name))
        .map(rows -> rows.iterator().hasNext() ? rows.iterator().next().getString("state") : null);
  }

  /** Sets a value (one writer per account: the adapter that owns it). */
  public Future<Void> put(String channel, String accountId, String name, String value) {
    Instant now = Instant.now();
    return pool.withTransaction(c -> c.preparedQuery("UPDATE channel_state SET state = ?, updated_at = ?"
            + " WHERE channel = ? AND account_id = ? AND name = ?")
        .execute(Tuple.of(value, Rows.time(now), channel, accountId, name))
        .compose(r -> r.rowCount() > 0 ? Future.<Void>succeededFuture()
            : c.preparedQuery("INSERT INTO channel_state (channel, account_id, name, state, updated_at)"
                    + " VALUES (?, ?, ?, ?, ?)")
                .execute(Tuple.of(channel, accountId, name, value, Rows.time(now))).mapEmpty()));
  }
}
