package dev.switchboard.channels.telegram;

import dev.switchboard.store.ChannelStateStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Long polling for one bot: {@code getUpdates} with a timeout, the updates handed in one at a time
 * in order, then the offset moved past them. The offset is persisted only after every update below
 * it was stored, so a restart neither replays what was stored (the next poll starts there) nor
 * loses what was not (Telegram keeps every update at or above the offset it was last given). A crash
 * between storing and persisting replays at most that batch, and the stored copies make the replay a
 * no-op.
 *
 * <p>Telegram answers 409 when another process polls the same token (or a webhook is set): that is
 * reported in the log and in the account's status, and polling backs off until the other one stops.
 * Polling and a webhook exclude each other: before the first poll, and after a 409 about a webhook,
 * a webhook this account set (in webhook mode) is deleted, but one set by someone else only when
 * the config says {@code mode: polling} explicitly; otherwise it is left alone, reported as a
 * conflict and looked at again with the same backoff.
 */
final class TelegramPoller {
  private static final Logger LOG = LoggerFactory.getLogger(TelegramPoller.class);
  static final String OFFSET = "offset";
  /** The webhook URL this account set last (in webhook mode), so polling knows it may delete it. */
  static final String WEBHOOK_URL = "webhookUrl";
  static final JsonArray ALLOWED_UPDATES = new JsonArray().add("message");
  private static final long MAX_BACKOFF_MS = 60_000;
  private static final long SHORT_POLL_PAUSE_MS = 1_000;

  private final Vertx vertx;
  private final TelegramAccount account;
  private final BotApi api;
  private final ChannelStateStore state;
  private final Function<JsonObject, Future<Void>> sink;
  private final AccountStatus status;
  private Long offset;
  private boolean webhookChecked;
  private boolean stopped;
  private long timer = -1;
  private long backoffMs;
  private boolean conflictLogged;

  /**
   * @param sink hands one update in (stores it, then routes it); succeeds once it is stored and routed,
   *             which keeps updates in order and holds the next poll back while routing is slow
   */
  TelegramPoller(Vertx vertx, TelegramAccount account, BotApi api, ChannelStateStore state,
      Function<JsonObject, Future<Void>> sink, AccountStatus status) {
    this.vertx = vertx;
    this.account = account;
    this.api = api;
    this.state = state;
    this.sink = sink;
    this.status = status;
  }

  /** Loads the persisted offset and starts polling (in the background). */
  Future<Void> start() {
    return state.get(TelegramChannelVerticle.CHANNEL, account.id(), OFFSET).map(stored -> {
      offset = stored == null ? null : Long.parseLong(stored);
      LOG.info("telegram {}: long polling from offset {}", account.id(), offset == null ? "(none yet)" : offset);
      status.state("polling", null);
      poll();
      return null;
    });
  }

  void stop() {
    stopped = true;
    vertx.cancelTimer(timer);
    status.state("stopped", null);
  }

  Long offset() {
    return offset;
  }

  private void poll() {
    if (stopped) {
      return;
    }
    if (!webhookChecked) {
      checkWebhook();
      return;
    }
    JsonObject params = new JsonObject().put("timeout", account.pollTimeoutSeconds())
        .put("allowed_updates", ALLOWED_UPDATES);
    if (offset != null) {
      params.put("offset", offset);
    }
    long timeoutMs = account.pollTimeoutSeconds() * 1000L + account.requestTimeoutMs();
    api.call("getUpdates", params, timeoutMs)
        .onSuccess(result -> {
          if (stopped) {
            return; // not stored, offset not moved: the next start gets these again
          }
          backoffMs = 0;
          if (conflictLogged) {
            LOG.info("telegram {}: polling again; the conflict is over", account.id());
            conflictLogged = false;
          }
          status.state("polling", null);
          JsonArray updates = result instanceof JsonArray a ? a : new JsonArray();
          if (updates.isEmpty() && account.pollTimeoutSeconds() == 0) {
            // short polling answers at once: pause instead of asking again in a tight loop
            timer = vertx.setTimer(SHORT_POLL_PAUSE_MS, t -> {
              timer = -1;
              poll();
            });
            return;
          }
          handle(updates, 0, offset);
        })
        .onFailure(this::failed);
  }

  /** Polls once no webhook is set: deletes one this account set, or (mode: polling) anyone's. */
  private void checkWebhook() {
    api.call("getWebhookInfo", new JsonObject(), account.requestTimeoutMs())
        .compose(info -> {
          String url = info instanceof JsonObject j ? j.getString("url", "") : "";
          if (url.isEmpty()) {
            return Future.succeededFuture(true);
          }
          return state.get(TelegramChannelVerticle.CHANNEL, account.id(), WEBHOOK_URL).compose(ours -> {
            if (!url.equals(ours) && !account.pollingForced()) {
              return Future.succeededFuture(false);
            }
            LOG.info("telegram {}: deleting the webhook {}", account.id(),
                url.equals(ours) ? "this account set" : "someone else set (mode: polling is configured)");
            return api.call("deleteWebhook", new JsonObject().put("drop_pending_updates", false),
                    account.requestTimeoutMs())
                .compose(x -> state.put(TelegramChannelVerticle.CHANNEL, account.id(), WEBHOOK_URL, ""))
                .map(true);
          });
        })
        .onSuccess(clear -> {
          if (clear) {
            webhookChecked = true;
            poll();
            return;
          }
          // the URL may carry someone's secrets: it is not logged
          String why = "a webhook someone else set is active; it is left alone (mode: polling takes the bot over)";
          if (!conflictLogged) {
            LOG.warn("telegram {}: {}; polling waits until it is removed", account.id(), why);
            conflictLogged = true;
          }
          status.state("conflict", why);
          retryLater(null);
        })
        .onFailure(this::failed);
  }

  /** Hands in updates from {@code i} on; {@code next} is the offset past the last one stored. */
  private void handle(JsonArray updates, int i, Long next) {
    if (stopped) {
      return;
    }
    if (i >= updates.size()) {
      persist(next).onComplete(x -> poll());
      return;
    }
    JsonObject u = updates.getJsonObject(i);
    long id = u.getLong("update_id", -1L);
    sink.apply(u).onComplete(ar -> {
      if (ar.succeeded()) {
        handle(updates, i + 1, Math.max(next == null ? 0 : next, id + 1));
      } else {
        // keep what was stored, poll again from this update after a pause
        LOG.warn("telegram {}: update {} not stored: {}", account.id(), id, ar.cause().getMessage());
        persist(next).onComplete(x -> retryLater(null));
      }
    });
  }

  private Future<Void> persist(Long next) {
    if (next == null || next.equals(offset)) {
      return Future.succeededFuture();
    }
    Long previous = offset;
    offset = next;
    return state.put(TelegramChannelVerticle.CHANNEL, account.id(), OFFSET, Long.toString(next))
        .onFailure(err -> LOG.warn("telegram {}: offset {} (was {}) not persisted: {}; a restart may see those updates"
            + " again (they are stored, so they are not answered twice)", account.id(), next, previous, err.getMessage()));
  }

  private void failed(Throwable err) {
    if (stopped) {
      return;
    }
    BotApi.Failure f = err instanceof BotApi.Failure x ? x : new BotApi.Failure(0, String.valueOf(err.getMessage()), null,
        true);
    if (f.errorCode == 409) {
      if (!conflictLogged) {
        LOG.warn("telegram {}: Telegram says another process uses this bot ({}); backing off until it stops",
            account.id(), f.description);
        conflictLogged = true;
      }
      status.state("conflict", f.description);
      if (f.says("webhook")) {
        webhookChecked = false; // a webhook was set meanwhile ("webhook is active", "terminated by setWebhook")
      }
      retryLater(null);
    } else if (f.errorCode == 401 || f.errorCode == 404) {
      LOG.error("telegram {}: Telegram refused the bot token ({}); retrying in a minute", account.id(), f.description);
      status.state("unauthorized", f.description);
      retryLater(MAX_BACKOFF_MS);
    } else if (f.errorCode == 429) {
      status.state("rate-limited", f.description);
      retryLater((f.retryAfterSeconds == null ? 1 : f.retryAfterSeconds) * 1000);
    } else {
      LOG.info("telegram {}: polling failed: {}", account.id(), f.description);
      status.state("retrying", f.description);
      retryLater(null);
    }
  }

  private void retryLater(Long exactMs) {
    backoffMs = backoffMs == 0 ? 1_000 : Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    long wait = exactMs != null ? exactMs : backoffMs;
    timer = vertx.setTimer(Math.max(1, wait), t -> {
      timer = -1;
      poll();
    });
  }
}
