package dev.switchboard.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.Objects;

/** SQL for streaming previews: which platform message shows a run's reply while it streams. */
public final class PreviewStore {
  private final Pool pool;

  public PreviewStore(Pool pool) {
    this.pool = Objects.requireNonNull(pool);
  }

  public Future<Void> record(String runId, String channel, String accountId, String platformMessageId) {
    return pool.preparedQuery("INSERT INTO stream_previews (run_id, channel, account_id, platform_message_id, created_at)"
            + " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        .execute(Tuple.of(runId, channel, accountId, platformMessageId, Rows.time(Instant.now())))
        .mapEmpty();
  }

  /** The preview message of a run, or null. */
  public Future<String> find(String runId) {
    return pool.preparedQuery("SELECT platform_message_id FROM stream_previews WHERE run_id = ?")
        .execute(Tuple.of(runId))
        .map(rows -> rows.iterator().hasNext() ? rows.iterator().next().getString("platform_message_id") : null);
  }

  public Future<Void> forget(String runId) {
    return pool.preparedQuery("DELETE FROM stream_previews WHERE run_id = ?").execute(Tuple.of(runId)).mapEmpty();
  }
}
