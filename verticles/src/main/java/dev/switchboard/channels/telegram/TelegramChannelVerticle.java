package dev.switchboard.channels.telegram;

import dev.switchboard.channels.ChannelAddresses;
import dev.switchboard.channels.ChannelIngress;
import dev.switchboard.channels.Webhook;
import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigProblem;
import dev.switchboard.delivery.ChannelOutlet;
import dev.switchboard.delivery.DeliveryAddresses;
import dev.switchboard.routing.Inbound;
import dev.switchboard.store.GroupCommit;
import dev.switchboard.store.ChannelStateStore;
import dev.switchboard.store.InboundStore;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.WorkspaceBus;
import dev.switchboard.workspace.WorkspaceContext;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.LocalMap;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Telegram channel: one bot per account ({@code channels.telegram.accounts[]}), reached through
 * the Bot API. Updates come in by long polling ({@link TelegramPoller}) or by webhook (Telegram
 * POSTs them to {@code /channels/telegram/<account>/webhook} on the workspace port, with the
 * account's secret in {@code X-Telegram-Bot-Api-Secret-Token}); either way each one is stored
 * before it is acknowledged ({@link ChannelIngress}). Replies go out through delivery's outlet
 * ({@link TelegramOutlet}): HTML messages up to 4,096 characters, streaming by edit, typing while a
 * turn runs. At start the bot's name is learned ({@code getMe}, for mentions) and the command menu is
 * sent when it changed. A bot is served by one account in one process at a time. See
 * docs/channels/telegram.md.
 */
public final class TelegramChannelVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(TelegramChannelVerticle.class);
  public static final String CHANNEL = "telegram";
  /** Telegram's limit for one message (after entities are parsed). */
  public static final int MAX_CHARS = 4096;
  static final String COMMANDS_HASH = "commandsHash";
  static final String SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token";
  private static final String BOTS = "switchboard.telegram.bots";
  private static final long MAX_RETRY_MS = 60_000;
  static final long CLAIM_RECHECK_MS = 2_000;

  /** One bot: its account, its client, what it knows about itself, its transport. */
  private final class Bot {
    final TelegramAccount account;
    final HttpClient client;
    final BotApi api;
    final TelegramOutlet outlet;
    final AccountStatus status;
    final String claimKey;
    volatile UpdateMapper.BotIdentity identity;
    TelegramPoller poller;
    /** Routing of the webhook updates stored so far, one after the other. */
    Future<?> routing = Future.succeededFuture();
    boolean claimed;
    boolean stopped;
    long timer = -1;
    long retryMs;

    Bot(TelegramAccount account) {
      this.account = account;
      // a long poll holds one connection; sends, edits and typing use the others
      this.client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setConnectTimeout(5_000),
          new PoolOptions().setHttp1MaxSize(8));
      this.api = new BotApi(client, account.apiBaseUrl(), account.token());
      this.outlet = new TelegramOutlet(vertx, account, api);
      this.status = new AccountStatus(account.id(), account.webhook() ? "webhook" : "polling");
      this.claimKey = sha256(account.token().reveal());
    }

    long nextRetry() {
      retryMs = retryMs == 0 ? 1_000 : Math.min(MAX_RETRY_MS, retryMs * 2);
      return retryMs;
    }
  }

  private WorkspaceBus bus;
  private String workspaceId;
  private ChannelIngress ingress;
  private ChannelStateStore state;
  private final List<Bot> bots = new ArrayList<>();

  @Override
  public Future<?> start() {
    WorkspaceContext ctx = WorkspaceContext.from(config());
    workspaceId = ctx.config().id();
    bus = ctx.bus(vertx);
    List<TelegramAccount> accounts = TelegramAccount.parse(ctx.config(), System.getenv());
    var pool = ctx.pool(vertx);
    ingress = new ChannelIngress(bus, new InboundStore(pool, new GroupCommit(pool, 64)));
    state = new ChannelStateStore(pool);
    List<Future<Void>> consumers = new ArrayList<>();
    for (TelegramAccount a : accounts) {
      Bot bot = new Bot(a);
      bots.add(bot);
      consumers.add(bus.<JsonObject>consumer(ChannelAddresses.webhook(CHANNEL, a.id()), m -> onWebhook(bot, m))
          .completion());
      consumers.add(bus.<JsonObject>consumer(ChannelOutlet.address(CHANNEL, a.id()), bot.outlet::handle).completion());
      consumers.add(bus.<JsonObject>consumer(ChannelAddresses.status(CHANNEL, a.id()), m -> m.reply(status(bot)))
          .completion());
    }
    return Future.all(consumers)
        .compose(v -> Future.all(bots.stream().map(this::identify).toList()))
        .onSuccess(v -> bots.forEach(b -> bus.send(DeliveryAddresses.REGISTER, new ChannelOutlet.Profile(CHANNEL,
            b.account.id(), MAX_CHARS, b.account.streaming(), b.account.editThrottleMs(), "html", false,
            b.account.typing()).toJson())))
        // a failed start is not stopped by Vert.x: the other bots' retries and clients end here
        .recover(err -> stop().transform(x -> Future.failedFuture(err)));
  }

  @Override
  public Future<Void> stop() {
    LocalMap<String, String> claims = vertx.sharedData().getLocalMap(BOTS);
    for (Bot b : bots) {
      b.stopped = true;
      vertx.cancelTimer(b.timer);
      if (b.poller != null) {
        b.poller.stop();
      }
      b.outlet.stop();
      if (b.claimed) {
        claims.remove(b.claimKey, owner(b));
      }
      b.client.close(); // cancels a long poll in flight: its updates were not stored, the offset did not move
    }
    return Future.succeededFuture();
  }

  private JsonObject status(Bot b) {
    JsonObject s = b.status.toJson().put("typingChats", b.outlet.typingChats());
    if (b.poller != null) {
      s.put("offset", b.poller.offset());
    }
    return s;
  }

  private String owner(Bot b) {
    return workspaceId + "/" + b.account.id();
  }

  // ---- start-up: who am I, the command menu, the transport ------------------------------------

  /**
   * Learns the bot's name with getMe. A token Telegram refuses stops the workspace with the key
   * path; Telegram being unreachable does not: the account keeps trying in the background.
   */
  private Future<Void> identify(Bot b) {
    return b.api.call("getMe", new JsonObject(), b.account.requestTimeoutMs())
        .<Void>map(me -> {
          JsonObject j = (JsonObject) me;
          b.identity = new UpdateMapper.BotIdentity(j.getLong("id", 0L), j.getString("username"));
          b.status.bot(j.getString("username"));
          b.retryMs = 0;
          LOG.info("telegram {}: serving bot @{} by {}", b.account.id(), j.getString("username"),
              b.account.webhook() ? "webhook" : "long polling");
          // the menu first: a failure there is logged and never keeps the bot from receiving
          syncCommands(b).onComplete(x -> startTransport(b));
          return null;
        })
        .recover(err -> {
          BotApi.Failure f = err instanceof BotApi.Failure x ? x : null;
          if (f != null && (f.errorCode == 401 || f.errorCode == 404) && b.identity == null && b.retryMs == 0
              && !b.stopped) {
            return Future.failedFuture(new ConfigException(List.of(new ConfigProblem(b.account.path() + ".botToken",
                "Telegram refused this token (" + f.description + ")"))));
          }
          String why = f == null ? String.valueOf(err.getMessage()) : f.description;
          LOG.warn("telegram {}: cannot reach the Bot API yet ({}); retrying", b.account.id(), why);
          b.status.state("retrying", why);
          later(b, b.nextRetry(), () -> identify(b));
          return Future.succeededFuture();
        });
  }

  private void later(Bot b, long ms, Runnable r) {
    if (!b.stopped) {
      b.timer = vertx.setTimer(ms, t -> {
        b.timer = -1;
        if (!b.stopped) {
          r.run();
        }
      });
    }
  }

  /**
   * Sends the command menu only when it differs from the one sent last (its hash is remembered,
   * with the bot's id: a new token for the account is a new bot that has no menu yet).
   */
  private Future<Void> syncCommands(Bot b) {
    JsonArray commands = b.account.commands();
    String hash = sha256(b.identity.id() + ":" + commands.encode());
    return state.get(CHANNEL, b.account.id(), COMMANDS_HASH).compose(stored -> {
      if (hash.equals(stored)) {
        return Future.succeededFuture();
      }
      Future<Object> call = commands.isEmpty()
          ? b.api.call("deleteMyCommands", new JsonObject(), b.account.requestTimeoutMs())
          : b.api.call("setMyCommands", new JsonObject().put("commands", commands), b.account.requestTimeoutMs());
      return call.compose(x -> state.put(CHANNEL, b.account.id(), COMMANDS_HASH, hash))
          .onSuccess(x -> LOG.info("telegram {}: command menu updated ({} commands)", b.account.id(), commands.size()));
    }).recover(err -> {
      LOG.warn("telegram {}: command menu not updated ({}); trying again at the next start", b.account.id(),
          err.getMessage());
      return Future.succeededFuture();
    });
  }

  /**
   * Claims the bot for this account (one consumer per bot in a process) and starts receiving. While
   * another account holds the claim, it is asked for again every {@value #CLAIM_RECHECK_MS} ms, so
   * this one takes over once the other stops.
   */
  private void startTransport(Bot b) {
    LocalMap<String, String> claims = vertx.sharedData().getLocalMap(BOTS);
    String holder = claims.putIfAbsent(b.claimKey, owner(b));
    if (holder != null && !holder.equals(owner(b))) {
      if (!"conflict".equals(b.status.state())) {
        LOG.error("telegram {}: this bot is already served by {} in this process; one bot, one consumer: not"
            + " receiving updates here until it stops", b.account.id(), holder);
      }
      b.status.state("conflict", "the bot is already served by " + holder + " in this process");
      later(b, CLAIM_RECHECK_MS, () -> startTransport(b));
      return;
    }
    if ("conflict".equals(b.status.state())) {
      LOG.info("telegram {}: the bot is free in this process now; serving it here", b.account.id());
    }
    b.claimed = true;
    if (b.account.webhook()) {
      registerWebhook(b);
    } else {
      b.poller = new TelegramPoller(vertx, b.account, b.api, state, u -> handleUpdate(b, u), b.status);
      b.poller.start().onFailure(err -> {
        LOG.warn("telegram {}: could not read the stored offset ({}); retrying", b.account.id(), err.getMessage());
        b.poller = null;
        b.claimed = false;
        claims.remove(b.claimKey, owner(b));
        later(b, b.nextRetry(), () -> startTransport(b));
      });
    }
  }

  private void registerWebhook(Bot b) {
    JsonObject params = new JsonObject().put("url", b.account.webhookUrl().toString())
        .put("secret_token", b.account.webhookSecret().reveal())
        .put("allowed_updates", TelegramPoller.ALLOWED_UPDATES)
        .put("drop_pending_updates", false);
    b.api.call("setWebhook", params, b.account.requestTimeoutMs())
        // remembered, so that polling later knows this webhook is this account's to delete
        .compose(x -> state.put(CHANNEL, b.account.id(), TelegramPoller.WEBHOOK_URL, b.account.webhookUrl().toString()))
        .onSuccess(x -> {
          b.retryMs = 0;
          b.status.state("webhook", null);
          LOG.info("telegram {}: webhook set to {}", b.account.id(), b.account.webhookUrl());
        })
        .onFailure(err -> {
          String why = err instanceof BotApi.Failure f ? f.description : String.valueOf(err.getMessage());
          LOG.warn("telegram {}: setWebhook failed ({}); retrying", b.account.id(), why);
          b.status.state("retrying", why);
          later(b, b.nextRetry(), () -> registerWebhook(b));
        });
  }

  // ---- inbound --------------------------------------------------------------------------------

  /**
   * Hands one polled update in; succeeds once it is stored and routed, so the poller moves the
   * offset only past updates that are stored, and routes them in order. A message handed in again
   * (a poll replayed after a lost offset) finds its stored copy: the store is the one place that
   * de-duplicates.
   */
  private Future<Void> handleUpdate(Bot b, JsonObject update) {
    return inbound(b, update).compose(in -> in == null ? Future.succeededFuture()
        : ingress.accept(in).<Void>map(reply -> {
          b.status.updateHandled();
          return null;
        }));
  }

  /** The message an update carries, or null when it is ignored (service messages, edits ...). */
  private Future<Inbound> inbound(Bot b, JsonObject update) {
    UpdateMapper.BotIdentity me = b.identity;
    if (me == null) {
      return Future.failedFuture(new IllegalStateException("the bot's identity is not known yet"));
    }
    UpdateMapper.Result r = UpdateMapper.map(b.account.id(), update, me);
    if (r.inbound() == null) {
      LOG.debug("telegram {}: update {} ignored: {}", b.account.id(), update.getValue("update_id"), r.ignored());
    }
    return Future.succeededFuture(r.inbound());
  }

  /**
   * A webhook call: answered 200 as soon as its update is stored (a retry of it finds the stored
   * copy), then routed, after the updates before it. Telegram does not wait for routing: a message
   * routing cannot take now is tried again here, and one stored but not routed when the process
   * ends is routed at the next start.
   */
  private void onWebhook(Bot b, Message<JsonObject> msg) {
    Webhook hook = Webhook.fromJson(msg.body());
    if (!"POST".equals(hook.method()) || !"/webhook".equals(hook.path())) {
      msg.reply(Webhook.response(404, error("unknown endpoint; Telegram posts to /channels/telegram/" + b.account.id()
          + "/webhook")));
      return;
    }
    if (!b.account.webhook()) {
      msg.reply(Webhook.response(404, error("account " + b.account.id() + " uses long polling")));
      return;
    }
    if (!b.account.webhookSecret().matches(hook.header(SECRET_HEADER))) {
      LOG.warn("telegram {}: refused a webhook call from {}: wrong or missing secret token", b.account.id(),
          hook.remote());
      msg.reply(Webhook.response(401, error("wrong secret token")));
      return;
    }
    JsonObject update;
    try {
      update = new JsonObject(hook.body());
    } catch (DecodeException e) {
      msg.reply(Webhook.response(400, error("the body must be a JSON object")));
      return;
    }
    inbound(b, update)
        .compose(in -> in == null ? Future.<ChannelIngress.Stored>succeededFuture() : ingress.store(in))
        .onSuccess(stored -> {
          msg.reply(Webhook.response(200, new JsonObject()));
          if (stored != null) {
            b.status.updateHandled();
            routeInOrder(b, stored);
          }
        })
        .onFailure(err -> {
          // not stored: Telegram delivers the update again later
          LOG.warn("telegram {}: update {} not stored: {}", b.account.id(), update.getValue("update_id"),
              err.getMessage());
          msg.reply(Webhook.response(503, error("temporarily unavailable")));
        });
  }

  /**
   * Routes a stored webhook update once the ones stored before it were routed. A failure (routing
   * not up yet, or no answer in time) is retried on its own, so it holds no other chat up; a message
   * its session's full queue refused is answered as such and not retried.
   */
  private void routeInOrder(Bot b, ChannelIngress.Stored stored) {
    b.routing = b.routing.transform(x -> ingress.route(stored)).transform(ar -> {
      if (ar.failed()) {
        routeLater(b, stored, ar.cause(), 1_000);
      }
      return Future.succeededFuture();
    });
  }

  private void routeLater(Bot b, ChannelIngress.Stored stored, Throwable err, long waitMs) {
    String message = stored.record().platformMessageId();
    if (BusFailure.codeOf(err) == BusFailure.BAD_REQUEST) {
      LOG.warn("telegram {}: message {} refused by routing: {}", b.account.id(), message, err.getMessage());
      return;
    }
    if (b.stopped) {
      return; // stored: routed at the next start
    }
    LOG.info("telegram {}: message {} is stored but not routed yet ({}); trying again in {} ms", b.account.id(), message,
        err.getMessage(), waitMs);
    vertx.setTimer(waitMs, t -> {
      if (!b.stopped) {
        // through the store: its stored state says whether a lane took it meanwhile (a timed-out
        // first try may have been taken after all), so a message is never routed twice
        ingress.accept(stored.inbound())
            .onFailure(e -> routeLater(b, stored, e, Math.min(MAX_RETRY_MS, waitMs * 2)));
      }
    });
  }

  private static JsonObject error(String message) {
    return new JsonObject().put("error", message);
  }

  static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
