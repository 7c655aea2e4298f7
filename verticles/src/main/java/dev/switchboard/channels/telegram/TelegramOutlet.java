package dev.switchboard.channels.telegram;

import dev.switchboard.delivery.ChannelOutlet;
import dev.switchboard.delivery.ReplyTarget;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivery's operations on one bot: send ({@code sendMessage}), edit ({@code editMessageText}),
 * delete ({@code deleteMessage}) and activity ({@code sendChatAction typing}, kept alive while a
 * turn runs). Telegram's answers are mapped to delivery's failure codes ({@link ChannelOutlet}):
 * "can't parse entities" is 422 (delivery resends as plain text), "message is not modified" is a
 * success, a message that no longer exists is 404, a 429 is 429 with {@code retryAfterMs}.
 *
 * <p>Rate limits: a 429 puts the chat in a cooldown for {@code retry_after}; until it passes,
 * requests for that chat are answered 429 here without calling Telegram. When 429s come for two
 * different chats within one cooldown, the limit is the bot's as a whole: every chat waits.
 * Telegram cannot tell whether a message arrived, so this outlet does not reconcile: a request that
 * never left (no connection, or not written out whole) is "not sent" (503) and retried as it is; one
 * that left without an answer coming back is an unknown outcome (504), which delivery resends once,
 * marked (an edit is simply made again).
 */
final class TelegramOutlet {
  private static final Logger LOG = LoggerFactory.getLogger(TelegramOutlet.class);

  private final Vertx vertx;
  private final TelegramAccount account;
  private final BotApi api;
  private final Map<String, Long> chatCooldownUntil = new HashMap<>();
  private long globalCooldownUntil;
  private String lastLimitedChat;
  /** Typing indicators kept alive, per chat (and topic): the runs that want it and until when. */
  private final Map<String, Typing> typing = new LinkedHashMap<>();

  private static final class Typing {
    final ReplyTarget target;
    final Map<String, Long> runs = new HashMap<>();
    long timer = -1;

    Typing(ReplyTarget target) {
      this.target = target;
    }
  }

  TelegramOutlet(Vertx vertx, TelegramAccount account, BotApi api) {
    this.vertx = vertx;
    this.account = account;
    this.api = api;
  }

  void handle(Message<JsonObject> msg) {
    ChannelOutlet.Request r;
    try {
      r = ChannelOutlet.Request.fromJson(msg.body());
    } catch (RuntimeException e) {
      msg.fail(ChannelOutlet.REJECTED, "malformed request: " + e.getMessage());
      return;
    }
    if (r.op().equals(ChannelOutlet.ACTIVITY)) {
      activity(r);
      msg.reply(new JsonObject());
      return;
    }
    if (r.op().equals(ChannelOutlet.RECONCILE)) {
      msg.fail(ChannelOutlet.UNSUPPORTED, "Telegram cannot tell whether a message arrived");
      return;
    }
    if (!ChannelOutlet.OPS.contains(r.op())) {
      msg.fail(ChannelOutlet.UNSUPPORTED, "unknown operation " + r.op());
      return;
    }
    String chat = r.target().peerId();
    long wait = cooldownLeft(chat);
    if (wait > 0) {
      msg.fail(ChannelOutlet.RATE_LIMITED, "cooling down after Telegram's rate limit; retryAfterMs=" + wait);
      return;
    }
    // compose: a malformed message id fails the future instead of throwing here
    Future<String> done = Future.succeededFuture().compose(x -> switch (r.op()) {
      case ChannelOutlet.SEND -> send(r);
      case ChannelOutlet.EDIT -> edit(r);
      default -> delete(r);
    });
    done.onSuccess(id -> msg.reply(ChannelOutlet.Receipt.of(id).toJson()))
        .onFailure(err -> fail(msg, r, err));
  }

  private Future<String> send(ChannelOutlet.Request r) {
    JsonObject p = chat(r.target()).put("text", r.text());
    html(p, r);
    Long replyTo = TelegramAccount.messageIdOf(r.target().replyToId());
    boolean quote = replyTo != null && (account.replyToMode().equals("all")
        || (account.replyToMode().equals("first") && r.chunk() == 0));
    if (quote) {
      // if the user's message is gone meanwhile, the reply still goes out
      p.put("reply_parameters", new JsonObject().put("message_id", replyTo).put("allow_sending_without_reply", true));
    }
    return api.call("sendMessage", p, account.requestTimeoutMs())
        .map(result -> String.valueOf(((JsonObject) result).getValue("message_id")));
  }

  private Future<String> edit(ChannelOutlet.Request r) {
    Long id = messageId(r);
    JsonObject p = chat(r.target()).put("message_id", id).put("text", r.text());
    p.remove("message_thread_id");
    html(p, r);
    return api.call("editMessageText", p, account.requestTimeoutMs())
        .map(result -> r.messageId())
        // the same text again (a final equal to the last preview): nothing to change, all is shown
        .recover(err -> err instanceof BotApi.Failure f && f.errorCode == 400 && f.says("message is not modified")
            ? Future.succeededFuture(r.messageId()) : Future.failedFuture(err));
  }

  private Future<String> delete(ChannelOutlet.Request r) {
    JsonObject p = chat(r.target()).put("message_id", messageId(r));
    p.remove("message_thread_id");
    return api.call("deleteMessage", p, account.requestTimeoutMs()).map(result -> r.messageId());
  }

  private static Long messageId(ChannelOutlet.Request r) {
    try {
      return Long.parseLong(r.messageId());
    } catch (NumberFormatException | NullPointerException e) {
      throw new IllegalArgumentException("not a Telegram message id: " + r.messageId());
    }
  }

  private static void html(JsonObject p, ChannelOutlet.Request r) {
    if ("html".equals(r.format())) {
      p.put("parse_mode", "HTML");
    }
  }

  /** {@code chat_id} (numeric where it is a number, as Telegram's ids are) and the topic. */
  private static JsonObject chat(ReplyTarget t) {
    JsonObject p = new JsonObject();
    try {
      p.put("chat_id", Long.parseLong(t.peerId()));
    } catch (NumberFormatException e) {
      p.put("chat_id", t.peerId()); // @channelusername
    }
    if (t.threadId() != null) {
      try {
        p.put("message_thread_id", Long.parseLong(t.threadId()));
      } catch (NumberFormatException e) {
        // not a Telegram topic id: the chat itself
      }
    }
    return p;
  }

  /** Maps what Telegram answered (or that nothing came) to delivery's failure codes. */
  private void fail(Message<JsonObject> msg, ChannelOutlet.Request r, Throwable err) {
    if (!(err instanceof BotApi.Failure f)) {
      msg.fail(ChannelOutlet.REJECTED, String.valueOf(err.getMessage()));
      return;
    }
    String what = r.op() + " to " + r.target().peerId() + ": " + f.description;
    if (!f.answered()) {
      msg.fail(f.outcomeUnknown ? ChannelOutlet.AMBIGUOUS : ChannelOutlet.TRANSIENT, what);
    } else if (f.errorCode == 429) {
      long ms = Math.max(1, f.retryAfterSeconds == null ? 1 : f.retryAfterSeconds) * 1000;
      limited(r.target().peerId(), ms);
      msg.fail(ChannelOutlet.RATE_LIMITED, what + "; retryAfterMs=" + ms);
    } else if (f.errorCode == 400 && f.says("can't parse entities") && "html".equals(r.format())) {
      msg.fail(ChannelOutlet.FORMAT_REJECTED, what);
    } else if (f.errorCode == 400 && (f.says("message to edit not found") || f.says("message to delete not found"))) {
      msg.fail(ChannelOutlet.GONE, what);
    } else if (f.errorCode >= 500) {
      msg.fail(ChannelOutlet.TRANSIENT, what);
    } else {
      if (f.errorCode == 401 || f.errorCode == 403) {
        LOG.warn("telegram {}: {}", account.id(), what);
      }
      msg.fail(ChannelOutlet.REJECTED, what);
    }
  }

  // ---- rate limits ---------------------------------------------------------------------------

  private long cooldownLeft(String chat) {
    long now = System.currentTimeMillis();
    Long until = chatCooldownUntil.get(chat);
    if (until != null && until <= now) {
      chatCooldownUntil.remove(chat);
      until = null;
    }
    return Math.max(0, Math.max(globalCooldownUntil, until == null ? 0 : until) - now);
  }

  private void limited(String chat, long ms) {
    long now = System.currentTimeMillis();
    if (lastLimitedChat != null && !lastLimitedChat.equals(chat) && cooldownLeft(lastLimitedChat) > 0) {
      // two chats limited at once: the bot as a whole is over Telegram's limit
      globalCooldownUntil = Math.max(globalCooldownUntil, now + ms);
      LOG.info("telegram {}: rate limited in several chats; every chat waits {} ms", account.id(), ms);
    }
    chatCooldownUntil.merge(chat, now + ms, Math::max);
    lastLimitedChat = chat;
  }

  // ---- typing --------------------------------------------------------------------------------

  private void activity(ChannelOutlet.Request r) {
    if (!account.typing()) {
      return;
    }
    ReplyTarget t = r.target();
    String key = t.peerId() + (t.threadId() == null ? "" : ":" + t.threadId());
    String state = r.payload().getString("state", "idle");
    if ("typing".equals(state)) {
      long ttl = Math.max(1, r.payload().getLong("ttlMs", 600_000L));
      Typing ty = typing.computeIfAbsent(key, k -> new Typing(t));
      ty.runs.put(r.runId(), System.currentTimeMillis() + ttl);
      if (ty.timer < 0) {
        sendTyping(ty);
        ty.timer = vertx.setPeriodic(account.typingIntervalMs(), id -> renew(key));
      }
    } else {
      Typing ty = typing.get(key);
      if (ty != null) {
        ty.runs.remove(r.runId());
        renewOrStop(key, ty, false);
      }
    }
  }

  private void renew(String key) {
    Typing ty = typing.get(key);
    if (ty != null) {
      renewOrStop(key, ty, true);
    }
  }

  private void renewOrStop(String key, Typing ty, boolean send) {
    long now = System.currentTimeMillis();
    // a run whose end never came stops typing at its deadline
    for (Iterator<Map.Entry<String, Long>> it = ty.runs.entrySet().iterator(); it.hasNext(); ) {
      if (it.next().getValue() <= now) {
        it.remove();
      }
    }
    if (ty.runs.isEmpty()) {
      vertx.cancelTimer(ty.timer);
      typing.remove(key);
    } else if (send) {
      sendTyping(ty);
    }
  }

  private void sendTyping(Typing ty) {
    if (cooldownLeft(ty.target.peerId()) > 0) {
      return;
    }
    api.call("sendChatAction", chat(ty.target).put("action", "typing"), account.requestTimeoutMs())
        .onFailure(err -> {
          if (err instanceof BotApi.Failure f && f.errorCode == 429) {
            limited(ty.target.peerId(), Math.max(1, f.retryAfterSeconds == null ? 1 : f.retryAfterSeconds) * 1000);
          }
          LOG.debug("telegram {}: typing in {} not shown: {}", account.id(), ty.target.peerId(), err.getMessage());
        });
  }

  /** Chats where "typing…" is being kept alive now. */
  int typingChats() {
    return typing.size();
  }

  void stop() {
    typing.values().forEach(t -> vertx.cancelTimer(t.timer));
    typing.clear();
  }
}
