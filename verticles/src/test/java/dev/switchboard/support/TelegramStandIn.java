package dev.switchboard.support;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stand-in for the Telegram Bot API: a real HTTP server on 127.0.0.1 (port 0) that answers
 * {@code POST /bot<token>/<method>} with Telegram's JSON shapes ({@code {ok, result}} or
 * {@code {ok: false, error_code, description, parameters: {retry_after}}}) and its error strings.
 *
 * <ul>
 *   <li>getUpdates is real long polling: it holds the request up to {@code timeout} seconds, answers as
 *       soon as an update arrives, confirms (forgets for good) updates below {@code offset} and never
 *       hands out an update below the offset of the poll it answers, honours {@code allowed_updates},
 *       terminates an earlier poll of the same bot with 409, and refuses to poll while a webhook is
 *       set (409; setting one terminates a waiting poll);</li>
 *   <li>setWebhook makes it POST pending updates to the URL, one at a time, with
 *       {@code X-Telegram-Bot-Api-Secret-Token}; an update is confirmed by a 2xx and retried otherwise
 *       (also while nothing listens there);</li>
 *   <li>sendMessage, editMessageText and deleteMessage keep a ledger of what each chat shows
 *       (messages with every version and deletions); text is parsed as Telegram does
 *       ({@link TelegramHtml}), capped at 4,096 characters, and an unchanged edit is "not modified";</li>
 *   <li>faults per method, used once each in order: 429 with retry_after, connection resets (before or
 *       after the request took effect), responses that never come (timeouts, also of a long poll that
 *       carried updates), any error; and, for the whole server, connections refused
 *       ({@link #refuseConnections()}).</li>
 * </ul>
 *
 * Users write through {@link Bot#receive}: the message gets the chat's next message id and a new
 * update.
 */
public final class TelegramStandIn implements AutoCloseable {
  private static final Pattern PATH = Pattern.compile("^/bot([^/]+)/([A-Za-z]+)$");
  private static final Pattern MENTION = Pattern.compile("@[A-Za-z0-9_]{3,}");
  private static final Pattern COMMAND = Pattern.compile("^/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?");
  public static final int MAX_TEXT = 4096;

  private final Vertx vertx;
  private HttpServer server;
  private final int port;
  private final Context context;
  private final WebClient client;
  private final Map<String, Bot> bots = new LinkedHashMap<>();
  private final List<HttpServerRequest> held = new ArrayList<>();
  private long nextUpdateId = 1000;

  /** A fault for the next matching call. */
  public record Fault(String kind, int code, String description, long retryAfter) {
    public static Fault tooManyRequests(long retryAfterSeconds) {
      return new Fault("error", 429, "Too Many Requests: retry after " + retryAfterSeconds, retryAfterSeconds);
    }

    /**
     * The request was read, then the connection is closed before it took effect: nothing happened,
     * yet the client cannot tell this from {@link #resetAfter()} (the request had left). For a
     * refusal the client can tell, see {@link TelegramStandIn#refuseConnections()}.
     */
    public static Fault resetBefore() {
      return new Fault("reset-before", 0, null, 0);
    }

    /** The request took effect, then the connection was closed before the answer. */
    public static Fault resetAfter() {
      return new Fault("reset-after", 0, null, 0);
    }

    /**
     * The request took effect and the answer never comes. On a long poll: the answer it would have
     * carried (updates, or none at its timeout) is lost on the way ({@link Bot#lostAnswers()}); the
     * updates stay unconfirmed.
     */
    public static Fault timeoutAfter() {
      return new Fault("hold-after", 0, null, 0);
    }

    /** Nothing happens and the answer never comes. */
    public static Fault timeoutBefore() {
      return new Fault("hold-before", 0, null, 0);
    }

    public static Fault error(int code, String description) {
      return new Fault("error", code, description, 0);
    }
  }

  /** One request as received. */
  public record Call(String method, JsonObject params, long at) {
  }

  /** A message in a chat, as the chat shows it. */
  public static final class Shown {
    public final long chatId;
    public final long messageId;
    public final Long threadId;
    public final boolean fromBot;
    public final Long replyToMessageId;
    public final String parseMode;
    final List<String> versions = new ArrayList<>();
    final List<List<TelegramHtml.Entity>> entities = new ArrayList<>();
    final List<Long> times = new ArrayList<>();
    boolean deleted;

    Shown(long chatId, long messageId, Long threadId, boolean fromBot, Long replyTo, String parseMode) {
      this.chatId = chatId;
      this.messageId = messageId;
      this.threadId = threadId;
      this.fromBot = fromBot;
      this.replyToMessageId = replyTo;
      this.parseMode = parseMode;
    }

    public String text() {
      return versions.get(versions.size() - 1);
    }

    public List<TelegramHtml.Entity> entities() {
      return entities.get(entities.size() - 1);
    }

    public List<String> versions() {
      return List.copyOf(versions);
    }

    /** When the message was sent and each edit arrived (ms). */
    public List<Long> times() {
      return List.copyOf(times);
    }

    public boolean deleted() {
      return deleted;
    }

    @Override
    public String toString() {
      return messageId + (fromBot ? "[bot]" : "[user]") + (deleted ? "(deleted)" : "") + "@" + chatId
          + (threadId == null ? "" : "/" + threadId) + ": " + versions;
    }
  }

  /** One bot: its identity, its updates, its webhook, its chats, its calls and faults. */
  public final class Bot {
    public final String token;
    public final long id;
    public final String username;
    final List<JsonObject> updates = new ArrayList<>();
    final Map<Long, List<Shown>> chats = new LinkedHashMap<>();
    final Map<Long, String> chatTypes = new HashMap<>();
    final Map<Long, Long> nextMessageId = new HashMap<>();
    final List<Call> calls = new ArrayList<>();
    final List<Map.Entry<Predicate<Call>, Fault>> faults = new ArrayList<>();
    final List<Integer> webhookAnswers = new ArrayList<>();
    final List<JsonArray> lostAnswers = new ArrayList<>();
    HttpServerRequest poll;
    long pollOffset;
    boolean pollAnswerLost;
    long pollTimer = -1;
    List<String> pollAllowed;
    List<String> webhookAllowed;
    String webhookUrl;
    String webhookSecret;
    boolean pushing;
    long webhookRetryMs = 100;

    Bot(String token, long id, String username) {
      this.token = token;
      this.id = id;
      this.username = username;
    }

    // ---- what users do --------------------------------------------------------------------

    /** A user writes: the message gets the chat's next id; returns the update. */
    public JsonObject receive(Incoming m) {
      JsonObject update;
      synchronized (TelegramStandIn.this) {
        long messageId = nextId(m.chatId);
        chatTypes.put(m.chatId, m.chatType);
        JsonObject msg = m.toJson(messageId, this);
        Shown s = new Shown(m.chatId, messageId, m.threadId, false, m.replyTo == null ? null : m.replyTo.messageId, null);
        s.versions.add(m.text == null ? "" : m.text);
        s.entities.add(List.of());
        s.times.add(System.currentTimeMillis());
        chats.computeIfAbsent(m.chatId, k -> new ArrayList<>()).add(s);
        update = new JsonObject().put("update_id", nextUpdateId++).put("message", msg);
        updates.add(update);
        TelegramStandIn.this.notifyAll();
      }
      context.runOnContext(v -> wake(this));
      return update;
    }

    /**
     * The same message handed in again under a new update id (a platform that delivers a message
     * twice); returns the new update.
     */
    public JsonObject repeat(JsonObject update) {
      JsonObject again;
      synchronized (TelegramStandIn.this) {
        again = update.copy().put("update_id", nextUpdateId++);
        updates.add(again);
        TelegramStandIn.this.notifyAll();
      }
      context.runOnContext(v -> wake(this));
      return again;
    }

    /** POSTs an update to the webhook once more, as Telegram does when it did not see a 2xx in time. */
    public int redeliver(JsonObject update) {
      String url;
      String secret;
      synchronized (TelegramStandIn.this) {
        url = webhookUrl;
        secret = webhookSecret;
      }
      var req = client.postAbs(url);
      if (secret != null) {
        req.putHeader("X-Telegram-Bot-Api-Secret-Token", secret);
      }
      try {
        return req.sendJsonObject(update).await(30, TimeUnit.SECONDS).statusCode();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }

    public void inject(String method, Fault fault) {
      inject(c -> c.method().equals(method), fault);
    }

    public void inject(Predicate<Call> when, Fault fault) {
      synchronized (TelegramStandIn.this) {
        faults.add(Map.entry(when, fault));
      }
    }

    // ---- what tests look at ---------------------------------------------------------------

    /** Every message of a chat ever shown (also deleted ones), in order. */
    public List<Shown> chat(long chatId) {
      synchronized (TelegramStandIn.this) {
        return List.copyOf(chats.getOrDefault(chatId, List.of()));
      }
    }

    /** The bot's messages a user sees in a chat now. */
    public List<Shown> botMessages(long chatId) {
      return chat(chatId).stream().filter(s -> s.fromBot && !s.deleted).toList();
    }

    public List<Call> calls(String method) {
      synchronized (TelegramStandIn.this) {
        return calls.stream().filter(c -> c.method().equals(method)).toList();
      }
    }

    public String webhookUrl() {
      synchronized (TelegramStandIn.this) {
        return webhookUrl;
      }
    }

    /** Updates not yet confirmed. */
    public int pending() {
      synchronized (TelegramStandIn.this) {
        return updates.size();
      }
    }

    /** Answers to long polls that never reached the poller ({@link Fault#timeoutAfter()}), in order. */
    public List<JsonArray> lostAnswers() {
      synchronized (TelegramStandIn.this) {
        return List.copyOf(lostAnswers);
      }
    }

    /** HTTP statuses the webhook answered (0: no answer, nothing listening), in order. */
    public List<Integer> webhookAnswers() {
      synchronized (TelegramStandIn.this) {
        return List.copyOf(webhookAnswers);
      }
    }

    /** Waits until a bot message in the chat matches; returns it. */
    public Shown await(long chatId, Predicate<Shown> p) {
      Shown[] found = new Shown[1];
      TelegramStandIn.this.await(() -> {
        for (Shown s : chats.getOrDefault(chatId, List.of())) {
          if (s.fromBot && !s.deleted && p.test(s)) {
            found[0] = s;
            return true;
          }
        }
        return false;
      }, () -> "no bot message in chat " + chatId + " matched; chat: " + chats.get(chatId));
      return found[0];
    }

    public Shown awaitText(long chatId, String token) {
      return await(chatId, s -> s.text().contains(token));
    }

    /** Waits until a call of {@code method} matches. */
    public Call awaitCall(String method, Predicate<Call> p) {
      Call[] found = new Call[1];
      TelegramStandIn.this.await(() -> {
        for (Call c : calls) {
          if (c.method().equals(method) && p.test(c)) {
            found[0] = c;
            return true;
          }
        }
        return false;
      }, () -> "no " + method + " call matched; calls: " + calls.stream().map(Call::method).toList());
      return found[0];
    }

    private long nextId(long chatId) {
      long next = nextMessageId.getOrDefault(chatId, 1L);
      nextMessageId.put(chatId, next + 1);
      return next;
    }

    JsonObject user() {
      return new JsonObject().put("id", id).put("is_bot", true).put("first_name", username).put("username", username);
    }
  }

  /** A message a user writes. */
  public static final class Incoming {
    final long chatId;
    final String chatType;
    final long userId;
    final String firstName;
    final String text;
    String chatTitle;
    Long threadId;
    Shown replyTo;
    String replyToText;
    boolean caption;
    boolean service;
    boolean fromBot;
    boolean forum;

    private Incoming(long chatId, String chatType, long userId, String firstName, String text) {
      this.chatId = chatId;
      this.chatType = chatType;
      this.userId = userId;
      this.firstName = firstName;
      this.text = text;
    }

    /** A private chat: the chat id is the user's id. */
    public static Incoming dm(long userId, String firstName, String text) {
      return new Incoming(userId, "private", userId, firstName, text);
    }

    public static Incoming group(long chatId, long userId, String firstName, String text) {
      Incoming m = new Incoming(chatId, "supergroup", userId, firstName, text);
      m.chatTitle = "group " + chatId;
      return m;
    }

    /** In a forum topic (the chat is a forum). */
    public Incoming topic(long threadId) {
      this.threadId = threadId;
      this.forum = true;
      return this;
    }

    public Incoming replyTo(Shown message) {
      this.replyTo = message;
      this.replyToText = message.text();
      return this;
    }

    /** Sent as a photo whose caption is the text. */
    public Incoming asCaption() {
      this.caption = true;
      return this;
    }

    /** A service message (a member joined): no text. */
    public Incoming asService() {
      this.service = true;
      return this;
    }

    public Incoming fromBot() {
      this.fromBot = true;
      return this;
    }

    JsonObject toJson(long messageId, Bot bot) {
      JsonObject chat = new JsonObject().put("id", chatId).put("type", chatType);
      if (!chatType.equals("private")) {
        chat.put("title", chatTitle);
      } else {
        chat.put("first_name", firstName);
      }
      if (forum) {
        chat.put("is_forum", true);
      }
      JsonObject from = new JsonObject().put("id", userId).put("is_bot", fromBot).put("first_name", firstName);
      JsonObject msg = new JsonObject().put("message_id", messageId).put("date", System.currentTimeMillis() / 1000)
          .put("chat", chat).put("from", from);
      if (threadId != null) {
        msg.put("message_thread_id", threadId).put("is_topic_message", true);
      }
      if (service) {
        msg.put("new_chat_members", new JsonArray().add(from));
        return msg;
      }
      JsonArray entities = entities(text);
      if (caption) {
        msg.put("photo", new JsonArray().add(new JsonObject().put("file_id", "photo-" + messageId).put("width", 10)
            .put("height", 10))).put("caption", text);
        if (!entities.isEmpty()) {
          msg.put("caption_entities", entities);
        }
      } else {
        msg.put("text", text);
        if (!entities.isEmpty()) {
          msg.put("entities", entities);
        }
      }
      if (replyTo != null) {
        JsonObject r = new JsonObject().put("message_id", replyTo.messageId).put("chat", chat)
            .put("date", System.currentTimeMillis() / 1000).put("text", replyToText);
        r.put("from", replyTo.fromBot ? bot.user() : new JsonObject().put("id", replyTo.chatId).put("is_bot", false)
            .put("first_name", "someone"));
        msg.put("reply_to_message", r);
      } else if (threadId != null) {
        // in a forum topic, Telegram points every message at the topic's first (service) message
        msg.put("reply_to_message", new JsonObject().put("message_id", threadId).put("chat", chat)
            .put("date", System.currentTimeMillis() / 1000)
            .put("forum_topic_created", new JsonObject().put("name", "topic " + threadId).put("icon_color", 0)));
      }
      return msg;
    }

    /** Mentions ({@code @name}) and a leading bot command, as Telegram marks them. */
    private static JsonArray entities(String text) {
      JsonArray out = new JsonArray();
      if (text == null) {
        return out;
      }
      Matcher c = COMMAND.matcher(text);
      if (c.find()) {
        out.add(new JsonObject().put("type", "bot_command").put("offset", 0).put("length", c.end()));
      }
      Matcher m = MENTION.matcher(text);
      while (m.find()) {
        if (m.start() > 0 && !Character.isWhitespace(text.charAt(m.start() - 1))) {
          continue;
        }
        out.add(new JsonObject().put("type", "mention").put("offset", m.start()).put("length", m.end() - m.start()));
      }
      return out;
    }
  }

  public TelegramStandIn(Vertx vertx) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.client = WebClient.create(vertx);
    this.server = listen(0);
    this.port = server.actualPort();
  }

  private HttpServer listen(int port) {
    try {
      // created on its own context, so every handler and timer runs there
      io.vertx.core.Promise<HttpServer> started = io.vertx.core.Promise.promise();
      context.runOnContext(v -> vertx.createHttpServer().requestHandler(this::handle).listen(port, "127.0.0.1")
          .onComplete(started));
      return started.future().await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The base URL to configure as {@code apiBaseUrl}. */
  public String url() {
    return "http://127.0.0.1:" + port;
  }

  /**
   * Telegram unreachable: every open connection is closed (a waiting long poll too) and new ones
   * are refused, so a request made now never leaves its sender, which knows it: nothing can have
   * arrived. Until {@link #acceptConnections()}.
   */
  public void refuseConnections() {
    synchronized (this) {
      held.clear(); // their connections close with the server
      bots.values().forEach(b -> {
        vertx.cancelTimer(b.pollTimer);
        b.poll = null;
      });
    }
    try {
      server.close().await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Listens again, on the same port, after {@link #refuseConnections()}. */
  public void acceptConnections() {
    server = listen(port);
  }

  public Bot bot(String token, long id, String username) {
    synchronized (this) {
      Bot b = new Bot(token, id, username);
      bots.put(token, b);
      return b;
    }
  }

  // ---- the API ----------------------------------------------------------------------------------

  private void handle(HttpServerRequest req) {
    req.body().onSuccess(buf -> {
      Matcher m = PATH.matcher(req.path());
      if (!m.matches()) {
        reply(req, 404, error(404, "Not Found", null));
        return;
      }
      Bot bot;
      synchronized (this) {
        bot = bots.get(m.group(1));
      }
      if (bot == null) {
        reply(req, 401, error(401, "Unauthorized", null));
        return;
      }
      JsonObject params;
      try {
        params = buf.length() == 0 ? new JsonObject() : buf.toJsonObject();
      } catch (RuntimeException e) {
        reply(req, 400, error(400, "Bad Request: invalid JSON", null));
        return;
      }
      Call call = new Call(m.group(2), params, System.currentTimeMillis());
      Fault fault = null;
      synchronized (this) {
        bot.calls.add(call);
        for (Iterator<Map.Entry<Predicate<Call>, Fault>> it = bot.faults.iterator(); it.hasNext(); ) {
          var e = it.next();
          if (e.getKey().test(call)) {
            fault = e.getValue();
            it.remove();
            break;
          }
        }
        notifyAll();
      }
      if (fault != null) {
        switch (fault.kind()) {
          case "reset-before" -> {
            req.connection().close();
            return;
          }
          case "hold-before" -> {
            synchronized (this) {
              held.add(req);
            }
            return;
          }
          case "error" -> {
            JsonObject parameters = fault.retryAfter() > 0 ? new JsonObject().put("retry_after", fault.retryAfter()) : null;
            reply(req, fault.code(), error(fault.code(), fault.description(), parameters));
            return;
          }
          default -> {
            // the request takes effect below, then the answer is lost
          }
        }
      }
      if (fault != null && fault.kind().equals("hold-after") && call.method().equals("getUpdates")) {
        synchronized (this) {
          bot.pollAnswerLost = true; // applies to the poll this call starts, whenever it is answered
        }
      }
      JsonObject answer = method(bot, call, req);
      if (answer == null) {
        return; // a long poll being held
      }
      if (fault != null && fault.kind().equals("reset-after")) {
        req.connection().close();
      } else if (fault != null && fault.kind().equals("hold-after") && !call.method().equals("getUpdates")) {
        synchronized (this) {
          held.add(req);
        }
      } else {
        answerPoll(bot, req, answer);
      }
    });
  }

  private JsonObject method(Bot bot, Call call, HttpServerRequest req) {
    JsonObject p = call.params();
    synchronized (this) {
      try {
        return switch (call.method()) {
          case "getMe" -> ok(bot.user().put("can_join_groups", true).put("can_read_all_group_messages", false)
              .put("supports_inline_queries", false));
          case "getUpdates" -> getUpdates(bot, p, req);
          case "setWebhook" -> {
            if (bot.poll != null) {
              HttpServerRequest waiting = bot.poll;
              bot.poll = null;
              vertx.cancelTimer(bot.pollTimer);
              answerPoll(bot, waiting, error(409, "Conflict: terminated by setWebhook request", null));
            }
            bot.webhookUrl = p.getString("url");
            bot.webhookSecret = p.getString("secret_token");
            JsonArray allowedTypes = p.getJsonArray("allowed_updates");
            bot.webhookAllowed = allowedTypes == null ? null : allowedTypes.stream().map(String::valueOf).toList();
            if (p.getBoolean("drop_pending_updates", false)) {
              bot.updates.clear();
            }
            context.runOnContext(v -> push(bot));
            yield ok(true);
          }
          case "deleteWebhook" -> {
            bot.webhookUrl = null;
            bot.webhookSecret = null;
            if (p.getBoolean("drop_pending_updates", false)) {
              bot.updates.clear();
            }
            yield ok(true);
          }
          case "getWebhookInfo" -> ok(new JsonObject().put("url", bot.webhookUrl == null ? "" : bot.webhookUrl)
              .put("pending_update_count", bot.updates.size()));
          case "sendMessage" -> sendMessage(bot, p);
          case "editMessageText" -> editMessageText(bot, p);
          case "deleteMessage" -> deleteMessage(bot, p);
          case "sendChatAction" -> {
            known(bot, p);
            yield ok(true);
          }
          case "setMyCommands", "deleteMyCommands" -> ok(true);
          default -> error(404, "Not Found", null);
        };
      } catch (Refused e) {
        return error(e.code, e.getMessage(), null);
      } finally {
        notifyAll();
      }
    }
  }

  private static final class Refused extends RuntimeException {
    final int code;

    Refused(int code, String description) {
      super(description, null, false, false);
      this.code = code;
    }
  }

  private JsonObject getUpdates(Bot bot, JsonObject p, HttpServerRequest req) {
    if (bot.webhookUrl != null) {
      throw new Refused(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to"
          + " delete the webhook first");
    }
    // confirmed for good: Telegram never hands out an update below an offset it was given
    long offset = p.getLong("offset", 0L);
    bot.updates.removeIf(u -> u.getLong("update_id") < offset);
    if (bot.poll != null) {
      HttpServerRequest earlier = bot.poll;
      bot.poll = null;
      vertx.cancelTimer(bot.pollTimer);
      answerPoll(bot, earlier, error(409, "Conflict: terminated by other getUpdates request; make sure that only one bot"
          + " instance is running", null));
    }
    JsonArray allowed = p.getJsonArray("allowed_updates");
    bot.pollAllowed = allowed == null ? null : allowed.stream().map(String::valueOf).toList();
    if (bot.pollAllowed != null) {
      // Telegram drops updates of kinds the bot did not ask for
      bot.updates.removeIf(u -> bot.pollAllowed.stream().noneMatch(u::containsKey));
    }
    long timeout = p.getLong("timeout", 0L);
    JsonArray now = batch(bot, offset, p.getInteger("limit", 100));
    if (!now.isEmpty() || timeout <= 0) {
      return ok(now);
    }
    bot.poll = req;
    bot.pollOffset = offset;
    bot.pollTimer = vertx.setTimer(timeout * 1000, t -> {
      synchronized (this) {
        if (bot.poll == req) {
          bot.poll = null;
          answerPoll(bot, req, ok(new JsonArray()));
        }
      }
    });
    return null;
  }

  /** Pending updates at or above {@code offset}, oldest first. */
  private static JsonArray batch(Bot bot, long offset, int limit) {
    JsonArray out = new JsonArray();
    for (JsonObject u : bot.updates) {
      if (out.size() >= limit) {
        break;
      }
      if (u.getLong("update_id") >= offset) {
        out.add(u.copy());
      }
    }
    return out;
  }

  /**
   * Answers a Bot API call; a long poll whose answer is to be lost ({@link Fault#timeoutAfter()})
   * is held instead, and what it would have carried is recorded.
   */
  private void answerPoll(Bot bot, HttpServerRequest req, JsonObject answer) {
    synchronized (this) {
      if (bot.pollAnswerLost && req.path().endsWith("/getUpdates")) {
        bot.pollAnswerLost = false;
        bot.lostAnswers.add(answer.getValue("result") instanceof JsonArray a ? a : new JsonArray());
        held.add(req);
        notifyAll();
        return;
      }
    }
    reply(req, answer.getBoolean("ok") ? 200 : answer.getInteger("error_code"), answer);
  }

  /** New updates: answer a waiting long poll, or push to the webhook. */
  private void wake(Bot bot) {
    synchronized (this) {
      if (bot.poll != null) {
        if (bot.pollAllowed != null) {
          bot.updates.removeIf(u -> bot.pollAllowed.stream().noneMatch(u::containsKey));
        }
        JsonArray now = batch(bot, bot.pollOffset, 100);
        if (!now.isEmpty()) {
          HttpServerRequest req = bot.poll;
          bot.poll = null;
          vertx.cancelTimer(bot.pollTimer);
          answerPoll(bot, req, ok(now));
        }
      }
    }
    push(bot);
  }

  private void push(Bot bot) {
    JsonObject update;
    String url;
    String secret;
    synchronized (this) {
      if (bot.webhookUrl == null || bot.pushing) {
        return;
      }
      if (bot.webhookAllowed != null) {
        // Telegram drops updates of kinds the bot did not ask for
        bot.updates.removeIf(u -> bot.webhookAllowed.stream().noneMatch(u::containsKey));
      }
      if (bot.updates.isEmpty()) {
        return;
      }
      bot.pushing = true;
      update = bot.updates.get(0);
      url = bot.webhookUrl;
      secret = bot.webhookSecret;
    }
    var req = client.postAbs(url).timeout(10_000);
    if (secret != null) {
      req.putHeader("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    req.sendJsonObject(update).onComplete(ar -> {
      boolean delivered = ar.succeeded() && ar.result().statusCode() / 100 == 2;
      synchronized (this) {
        bot.pushing = false;
        bot.webhookAnswers.add(ar.succeeded() ? ar.result().statusCode() : 0);
        if (delivered) {
          bot.updates.remove(update);
        }
        notifyAll();
      }
      if (delivered) {
        push(bot);
      } else {
        vertx.setTimer(bot.webhookRetryMs, t -> push(bot));
      }
    });
  }

  private void known(Bot bot, JsonObject p) {
    long chat = chatId(p);
    if (!bot.chatTypes.containsKey(chat)) {
      throw new Refused(400, "Bad Request: chat not found");
    }
  }

  private static long chatId(JsonObject p) {
    Object v = p.getValue("chat_id");
    try {
      return v instanceof Number n ? n.longValue() : Long.parseLong(String.valueOf(v));
    } catch (NumberFormatException e) {
      throw new Refused(400, "Bad Request: chat not found");
    }
  }

  private static TelegramHtml.Parsed parse(JsonObject p) {
    String text = p.getString("text");
    if (text == null || text.isEmpty()) {
      throw new Refused(400, "Bad Request: message text is empty");
    }
    String mode = p.getString("parse_mode");
    TelegramHtml.Parsed parsed;
    if (mode == null || mode.isEmpty()) {
      parsed = new TelegramHtml.Parsed(text, List.of());
    } else if (mode.equalsIgnoreCase("HTML")) {
      try {
        parsed = TelegramHtml.parse(text);
      } catch (TelegramHtml.ParseError e) {
        throw new Refused(400, e.getMessage());
      }
    } else {
      throw new Refused(400, "Bad Request: unsupported parse_mode");
    }
    if (parsed.text().isBlank()) {
      throw new Refused(400, "Bad Request: message text is empty");
    }
    if (parsed.text().length() > MAX_TEXT) {
      throw new Refused(400, "Bad Request: message is too long");
    }
    return parsed;
  }

  private JsonObject sendMessage(Bot bot, JsonObject p) {
    known(bot, p);
    TelegramHtml.Parsed parsed = parse(p);
    long chat = chatId(p);
    Long thread = p.getLong("message_thread_id");
    JsonObject replyParams = p.getJsonObject("reply_parameters");
    Long replyTo = replyParams == null ? null : replyParams.getLong("message_id");
    long id = bot.nextId(chat);
    Shown s = new Shown(chat, id, thread, true, replyTo, p.getString("parse_mode"));
    s.versions.add(parsed.text());
    s.entities.add(parsed.entities());
    s.times.add(System.currentTimeMillis());
    bot.chats.computeIfAbsent(chat, k -> new ArrayList<>()).add(s);
    return ok(message(bot, s));
  }

  private JsonObject editMessageText(Bot bot, JsonObject p) {
    known(bot, p);
    Shown s = find(bot, p, "Bad Request: message to edit not found");
    if (!s.fromBot) {
      throw new Refused(400, "Bad Request: message can't be edited");
    }
    TelegramHtml.Parsed parsed = parse(p);
    if (parsed.text().equals(s.text()) && parsed.entities().equals(s.entities())) {
      throw new Refused(400, "Bad Request: message is not modified: specified new message content and reply markup are"
          + " exactly the same as a current content and reply markup of the message");
    }
    s.versions.add(parsed.text());
    s.entities.add(parsed.entities());
    s.times.add(System.currentTimeMillis());
    return ok(message(bot, s));
  }

  private JsonObject deleteMessage(Bot bot, JsonObject p) {
    known(bot, p);
    Shown s = find(bot, p, "Bad Request: message to delete not found");
    s.deleted = true;
    return ok(true);
  }

  private static Shown find(Bot bot, JsonObject p, String notFound) {
    long chat = chatId(p);
    Long id = p.getLong("message_id");
    for (Shown s : bot.chats.getOrDefault(chat, List.of())) {
      if (id != null && s.messageId == id && !s.deleted) {
        return s;
      }
    }
    throw new Refused(400, notFound);
  }

  private JsonObject message(Bot bot, Shown s) {
    JsonObject m = new JsonObject().put("message_id", s.messageId).put("date", System.currentTimeMillis() / 1000)
        .put("chat", new JsonObject().put("id", s.chatId).put("type", bot.chatTypes.get(s.chatId)))
        .put("from", bot.user()).put("text", s.text());
    if (s.threadId != null) {
      m.put("message_thread_id", s.threadId).put("is_topic_message", true);
    }
    if (s.replyToMessageId != null) {
      m.put("reply_to_message", new JsonObject().put("message_id", s.replyToMessageId));
    }
    return m;
  }

  private static JsonObject ok(Object result) {
    return new JsonObject().put("ok", true).put("result", result);
  }

  private static JsonObject error(int code, String description, JsonObject parameters) {
    JsonObject e = new JsonObject().put("ok", false).put("error_code", code).put("description", description);
    if (parameters != null) {
      e.put("parameters", parameters);
    }
    return e;
  }

  /**
   * Every answer closes its connection: a client never holds an idle connection here, so once
   * {@link #refuseConnections()} returns, its next request is refused for certain (a stale pooled
   * connection could otherwise take it, and a request written into one may have arrived).
   */
  private static void reply(HttpServerRequest req, int status, JsonObject body) {
    req.response().setStatusCode(status).putHeader("Content-Type", "application/json").putHeader("Connection", "close")
        .end(body.encode());
  }

  /** Waits (bounded at 30 s) until {@code done} holds, checked under this stand-in's lock. */
  public void await(BooleanSupplier done, java.util.function.Supplier<String> failure) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    synchronized (this) {
      while (!done.getAsBoolean()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError(failure.get());
        }
        try {
          wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }
  }

  @Override
  public void close() {
    synchronized (this) {
      held.forEach(r -> r.connection().close());
      held.clear();
    }
    try {
      client.close();
      server.close().await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
