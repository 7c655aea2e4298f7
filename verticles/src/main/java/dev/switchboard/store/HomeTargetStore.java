package dev.switchboard.store;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.Objects;

/** SQL for home chats: where a channel account's automation output goes by default ({@code /sethome}). */
public final class HomeTargetStore {
  private final Pool pool;

  public HomeTargetStore(Pool pool) {
    this.pool = Objects.requireNonNull(pool);
  }

  /** Sets (or moves) the home chat of an account; {@code target} is a reply target as JSON. */
  public Future<Void> set(String channel, String accountId, JsonObject target, String setBy) {
    Instant now = Instant.now();
    return pool.withTransaction(c -> c.preparedQuery("UPDATE home_targets SET target = ?, set_by = ?, set_at = ?"
            + " WHERE channel = ? AND account_id = ?")
        .execute(Tuple.of(target.encode(), setBy, Rows.time(now), channel, accountId))
        .compose(r -> r.rowCount() > 0 ? Future.succeededFuture()
            : c.preparedQuery("INSERT INTO home_targets (channel, account_id, target, set_by, set_at) VALUES (?, ?, ?, ?, ?)")
                .execute(Tuple.of(channel, accountId, target.encode(), setBy, Rows.time(now))).mapEmpty()));
  }

  /** The home chat of an account (as reply-target JSON), or null. */
  public Future<JsonObject> find(String channel, String accountId) {
    return pool.preparedQuery("SELECT target FROM home_targets WHERE channel = ? AND account_id = ?")
        .execute(Tuple.of(channel, accountId))
        .map(rows -> rows.iterator().hasNext() ? new JsonObject(rows.iterator().next().getString("target")) : null);
  }

  /** The home chat of the first account of a channel that has one (for targets naming only the channel). */
  public Future<JsonObject> anyOf(String channel) {
    return pool.preparedQuery("SELECT target FROM home_targets WHERE channel = ? ORDER BY set_at DESC LIMIT 1")
        .execute(Tuple.of(channel))
        .map(rows -> rows.iterator().hasNext() ? new JsonObject(rows.iterator().next().getString("target")) : null);
  }
}
