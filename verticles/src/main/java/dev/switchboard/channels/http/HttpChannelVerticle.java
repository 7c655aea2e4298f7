package dev.switchboard.channels.http;

import dev.switchboard.channels.ChannelAddresses;
import dev.switchboard.channels.ChannelIngress;
import dev.switchboard.channels.Webhook;
import dev.switchboard.config.ConfigException;
import dev.switchboard.config.ConfigReader;
import dev.switchboard.config.Secret;
import dev.switchboard.delivery.ChannelOutlet;
import dev.switchboard.delivery.DeliveryAddresses;
import dev.switchboard.routing.Inbound;
import dev.switchboard.store.GroupCommit;
import dev.switchboard.store.InboundStore;
import dev.switchboard.workspace.RoutingRules;
import dev.switchboard.workspace.WorkspaceBus;
import dev.switchboard.workspace.WorkspaceConfig;
import dev.switchboard.workspace.WorkspaceContext;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP channel: a signed webhook bridge to any system. Inbound, the system POSTs messages to
 * {@code /channels/http/<account>/messages} on the workspace port; outbound, the gateway POSTs
 * send/edit/delete/reconcile operations to the account's {@code callbackUrl}. Both directions are
 * signed with the account's secret: {@code X-Switchboard-Signature: sha256=<hex>} over
 * {@code <timestamp>.<body>}, with {@code X-Switchboard-Timestamp} in Unix seconds (requests more
 * than 5 minutes off are refused). A forged request is refused before anything is stored. See
 * docs/channels/http.md.
 */
public final class HttpChannelVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(HttpChannelVerticle.class);
  public static final String CHANNEL = "http";
  static final long MAX_SKEW_SECONDS = 300;
  static final int MAX_TEXT = 100_000;

  /** One account's adapter settings. */
  record Account(String id, Secret secret, URI callback, int maxChars, boolean edits, boolean reconcile,
      long timeoutMs) {
  }

  private WorkspaceBus bus;
  private ChannelIngress ingress;
  private WebClient client;
  private final List<Account> accounts = new ArrayList<>();

  @Override
  public Future<?> start() {
    WorkspaceContext ctx = WorkspaceContext.from(config());
    WorkspaceConfig ws = ctx.config();
    bus = ctx.bus(vertx);
    accounts.addAll(parse(ws, System.getenv()));
    ingress = new ChannelIngress(bus, new InboundStore(ctx.pool(vertx), new GroupCommit(ctx.pool(vertx), 64)));
    client = WebClient.create(vertx, new WebClientOptions().setConnectTimeout(5_000).setKeepAlive(true)
        .setUserAgent("switchboard"));
    List<Future<Void>> consumers = new ArrayList<>();
    for (Account a : accounts) {
      consumers.add(bus.<JsonObject>consumer(ChannelAddresses.webhook(CHANNEL, a.id()), m -> onWebhook(a, m)).completion());
      consumers.add(bus.<JsonObject>consumer(ChannelOutlet.address(CHANNEL, a.id()), m -> onOutlet(a, m)).completion());
    }
    return Future.all(consumers).onSuccess(v -> accounts.forEach(a -> bus.send(DeliveryAddresses.REGISTER,
        new ChannelOutlet.Profile(CHANNEL, a.id(), a.maxChars(), a.edits(), 250, "markdown", a.reconcile()).toJson())));
  }

  @Override
  public Future<?> stop() {
    if (client != null) {
      client.close();
    }
    return Future.succeededFuture();
  }

  /** The adapter keys of every {@code channels.http.accounts[]} entry; all problems at once, with paths. */
  static List<Account> parse(WorkspaceConfig ws, Map<String, String> env) {
    List<Account> out = new ArrayList<>();
    List<dev.switchboard.config.ConfigProblem> problems = new ArrayList<>();
    String file = ws.dir().resolve("workspace.json").toString();
    for (RoutingRules.ChannelAccount acc : ws.routing().accounts()) {
      if (!acc.channel().equals(CHANNEL)) {
        continue;
      }
      ConfigReader r = ConfigReader.at(acc.raw(), file, acc.path(), env);
      Secret secret = r.secret("secret");
      if (secret == null && r.problems().isEmpty()) {
        r.problem("secret", "is required (both directions are signed with it)");
      } else if (secret != null && secret.reveal().length() < 16) {
        r.problem("secret", "must be at least 16 characters long");
      }
      String url = r.string("callbackUrl", null);
      URI callback = null;
      if (url == null) {
        r.problem("callbackUrl", "is required (replies are POSTed there)");
      } else {
        try {
          callback = URI.create(url);
          if (!List.of("http", "https").contains(String.valueOf(callback.getScheme())) || callback.getHost() == null) {
            r.problem("callbackUrl", "must be an http:// or https:// URL, got \"" + url + "\"");
          }
        } catch (IllegalArgumentException e) {
          r.problem("callbackUrl", "is not a URL: " + e.getMessage());
        }
      }
      int maxChars = r.integer("maxChars", 0, 0, 10_000_000);
      if (maxChars != 0 && maxChars < 32) {
        r.problem("maxChars", "must be 0 (no limit) or at least 32");
      }
      boolean edits = r.bool("edits", false);
      boolean reconcile = r.bool("reconcile", false);
      long timeoutMs = r.longValue("timeoutMs", 10_000, 100, 300_000);
      problems.addAll(r.problems());
      if (r.problems().isEmpty()) {
        out.add(new Account(acc.id(), secret, callback, maxChars, edits, reconcile, timeoutMs));
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return out;
  }

  // ---- inbound ---------------------------------------------------------------------------------

  private void onWebhook(Account a, Message<JsonObject> msg) {
    Webhook hook = Webhook.fromJson(msg.body());
    if (!"POST".equals(hook.method()) || !"/messages".equals(hook.path())) {
      msg.reply(Webhook.response(404, error("unknown endpoint; POST /channels/http/" + a.id() + "/messages")));
      return;
    }
    String denied = verify(a.secret(), hook.header("X-Switchboard-Timestamp"), hook.header("X-Switchboard-Signature"),
        hook.body(), System.currentTimeMillis() / 1000);
    if (denied != null) {
      LOG.warn("http channel {}: refused a webhook from {}: {}", a.id(), hook.remote(), denied);
      msg.reply(Webhook.response(401, error(denied)));
      return;
    }
    Inbound in;
    try {
      in = message(a, new JsonObject(hook.body()));
    } catch (DecodeException | ClassCastException e) {
      msg.reply(Webhook.response(400, error("the body must be a JSON object")));
      return;
    } catch (IllegalArgumentException e) {
      msg.reply(Webhook.response(400, error(e.getMessage())));
      return;
    }
    ingress.accept(in)
        .onSuccess(r -> msg.reply(Webhook.response(202, new JsonObject().put("runId", r.getString("runId"))
            .put("status", r.getString("status")).put("duplicate", r.getBoolean("duplicate", false)))))
        .onFailure(err -> {
          // nothing is lost: the sender retries the same messageId, and a stored copy is routed again
          LOG.warn("http channel {}: message not accepted: {}", a.id(), err.getMessage());
          msg.reply(Webhook.response(503, error("temporarily unavailable; retry with the same messageId")));
        });
  }

  static Inbound message(Account a, JsonObject b) {
    String messageId = required(b, "messageId", 256);
    JsonObject chat = b.getJsonObject("chat");
    if (chat == null) {
      throw new IllegalArgumentException("chat is required: {id, type?, threadId?}");
    }
    String chatId = required(chat, "id", 256);
    String type = chat.getString("type", "direct");
    if (!RoutingRules.PEER_KINDS.contains(type)) {
      throw new IllegalArgumentException("chat.type must be direct, group or channel");
    }
    JsonObject sender = b.getJsonObject("sender");
    if (sender == null) {
      throw new IllegalArgumentException("sender is required: {id, name?}");
    }
    String text = b.getString("text");
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("text is required");
    }
    if (text.length() > MAX_TEXT) {
      throw new IllegalArgumentException("text is longer than " + MAX_TEXT + " characters");
    }
    Inbound.Builder in = Inbound.from(CHANNEL, a.id()).platformMessageId(messageId).peer(type, chatId)
        .sender(required(sender, "id", 256), sender.getString("name")).text(text)
        .mentioned(b.getBoolean("mentioned", false));
    if (chat.getString("threadId") != null) {
      in.thread(chat.getString("threadId"));
    }
    JsonObject replyTo = b.getJsonObject("replyTo");
    if (replyTo != null) {
      in.replyTo(replyTo.getString("id"), replyTo.getString("body"), replyTo.getString("sender"));
    }
    return in.build();
  }

  private static String required(JsonObject o, String key, int max) {
    Object v = o.getValue(key);
    if (v instanceof Number n) {
      v = n.toString();
    }
    if (!(v instanceof String s) || s.isBlank()) {
      throw new IllegalArgumentException(key + " is required");
    }
    if (s.length() > max) {
      throw new IllegalArgumentException(key + " is longer than " + max + " characters");
    }
    return s;
  }

  /** Null when the signature is right and recent; otherwise why not. */
  static String verify(Secret secret, String timestamp, String signature, String body, long nowSeconds) {
    if (timestamp == null || signature == null) {
      return "missing X-Switchboard-Timestamp or X-Switchboard-Signature";
    }
    long ts;
    try {
      ts = Long.parseLong(timestamp.trim());
    } catch (NumberFormatException e) {
      return "X-Switchboard-Timestamp is not a number";
    }
    if (Math.abs(nowSeconds - ts) > MAX_SKEW_SECONDS) {
      return "timestamp too far from now (more than " + MAX_SKEW_SECONDS + " s)";
    }
    String expected = sign(secret, ts, body);
    if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII),
        signature.trim().getBytes(StandardCharsets.US_ASCII))) {
      return "bad signature";
    }
    return null;
  }

  /** {@code sha256=<hex HMAC-SHA256 of "<ts>.<body>">}. */
  public static String sign(Secret secret, long timestamp, String body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.reveal().getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      byte[] h = mac.doFinal((timestamp + "." + body).getBytes(StandardCharsets.UTF_8));
      return "sha256=" + HexFormat.of().formatHex(h);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HMAC-SHA256 unavailable", e);
    }
  }

  private static JsonObject error(String message) {
    return new JsonObject().put("error", message);
  }

  // ---- outbound --------------------------------------------------------------------------------

  private void onOutlet(Account a, Message<JsonObject> msg) {
    ChannelOutlet.Request r = ChannelOutlet.Request.fromJson(msg.body());
    if ((r.op().equals(ChannelOutlet.EDIT) && !a.edits()) || (r.op().equals(ChannelOutlet.RECONCILE) && !a.reconcile())) {
      msg.fail(ChannelOutlet.UNSUPPORTED, "account " + a.id() + " does not " + r.op());
      return;
    }
    JsonObject body = new JsonObject().put("op", r.op()).put("obligationId", r.obligationId()).put("runId", r.runId())
        .put("chunk", r.chunk()).put("chunks", r.chunks()).put("text", r.text()).put("format", r.format())
        .put("messageId", r.messageId()).put("preview", r.preview()).put("attempt", r.attempt())
        .put("chat", new JsonObject().put("id", r.target().peerId()).put("type", r.target().peerKind())
            .put("threadId", r.target().threadId()))
        .put("replyToMessageId", r.target().replyToId());
    String encoded = body.encode();
    long ts = System.currentTimeMillis() / 1000;
    client.requestAbs(io.vertx.core.http.HttpMethod.POST, a.callback().toString())
        .timeout(a.timeoutMs())
        .putHeader("Content-Type", "application/json")
        .putHeader("X-Switchboard-Timestamp", Long.toString(ts))
        .putHeader("X-Switchboard-Signature", sign(a.secret(), ts, encoded))
        .sendBuffer(Buffer.buffer(encoded))
        .onSuccess(resp -> answer(msg, r, resp))
        .onFailure(err -> {
          // refused before anything was sent: nothing arrived; otherwise the request may have arrived
          boolean notSent = err instanceof ConnectException || err instanceof UnknownHostException
              || err.getCause() instanceof ConnectException;
          msg.fail(notSent ? ChannelOutlet.TRANSIENT : ChannelOutlet.AMBIGUOUS, err.getClass().getSimpleName() + ": "
              + err.getMessage());
        });
  }

  private static void answer(Message<JsonObject> msg, ChannelOutlet.Request r, HttpResponse<Buffer> resp) {
    int status = resp.statusCode();
    JsonObject json;
    try {
      json = resp.body() == null || resp.body().length() == 0 ? new JsonObject() : resp.bodyAsJsonObject();
    } catch (DecodeException e) {
      json = new JsonObject();
    }
    if (status >= 200 && status < 300) {
      if (r.op().equals(ChannelOutlet.RECONCILE)) {
        msg.reply(new ChannelOutlet.Receipt(json.getString("messageId"), json.getBoolean("found", false)).toJson());
        return;
      }
      String id = json.getValue("messageId") == null ? r.messageId() : String.valueOf(json.getValue("messageId"));
      if (id == null) {
        msg.fail(ChannelOutlet.AMBIGUOUS, "the callback answered " + status + " without a messageId");
        return;
      }
      msg.reply(ChannelOutlet.Receipt.of(id).toJson());
      return;
    }
    String detail = "callback answered " + status + (json.getString("error") == null ? "" : ": " + json.getString("error"));
    if (status == 429) {
      String after = resp.getHeader("Retry-After");
      long ms = json.getLong("retryAfterMs", after == null ? 1_000L : parseRetryAfter(after));
      msg.fail(ChannelOutlet.RATE_LIMITED, detail + "; retryAfterMs=" + ms);
    } else if (status == 404 && (r.op().equals(ChannelOutlet.EDIT) || r.op().equals(ChannelOutlet.DELETE))) {
      msg.fail(ChannelOutlet.GONE, detail);
    } else if (status == 422) {
      msg.fail(ChannelOutlet.FORMAT_REJECTED, detail);
    } else if (status == 501) {
      msg.fail(ChannelOutlet.UNSUPPORTED, detail);
    } else if (status >= 500 || status == 408) {
      msg.fail(ChannelOutlet.TRANSIENT, detail);
    } else {
      msg.fail(ChannelOutlet.REJECTED, detail);
    }
  }

  private static long parseRetryAfter(String v) {
    try {
      return Math.max(0, (long) (Double.parseDouble(v.trim()) * 1000));
    } catch (NumberFormatException e) {
      return 1_000;
    }
  }
}
