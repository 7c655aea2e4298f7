package dev.switchboard.support;

import dev.switchboard.channels.ChannelIngress;
import dev.switchboard.delivery.ChannelOutlet;
import dev.switchboard.delivery.DeliveryAddresses;
import dev.switchboard.routing.Inbound;
import dev.switchboard.store.Database;
import dev.switchboard.store.DatabaseConfig;
import dev.switchboard.store.InboundStore;
import dev.switchboard.workspace.WorkspaceBus;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A stand-in chat platform for one channel account. Inbound, it hands user messages in through the
 * real {@link ChannelIngress} (stored first, then routed). Outbound, it serves delivery's outlet:
 * send, edit, delete and reconcile, with faults injected per call (rate limits with retry-after,
 * resets before or after the platform took the request, lost acks, requests never answered, refused
 * formatting, refused edits), and keeps a ledger of what a user would see in each chat: every
 * message with its current text, its edits, and whether it was deleted. It announces its profile to
 * delivery as real adapters do, at once or when the test says ({@link #register()}).
 */
public final class TestChannel implements AutoCloseable {
  /** A message as the chat shows it now. */
  public static final class Shown {
    final String id;
    final String peerKind;
    final String peerId;
    final String threadId;
    final String runId;
    final String obligationId;
    final int chunk;
    final boolean preview;
    final List<String> versions = new ArrayList<>();
    boolean deleted;

    Shown(String id, ChannelOutlet.Request r) {
      this.id = id;
      this.peerKind = r.target().peerKind();
      this.peerId = r.target().peerId();
      this.threadId = r.target().threadId();
      this.runId = r.runId();
      this.obligationId = r.obligationId();
      this.chunk = r.chunk();
      this.preview = r.preview();
      versions.add(r.text());
    }

    public String text() {
      return versions.get(versions.size() - 1);
    }

    public String peerId() {
      return peerId;
    }

    public String peerKind() {
      return peerKind;
    }

    public String threadId() {
      return threadId;
    }

    public String runId() {
      return runId;
    }

    public String platformId() {
      return id;
    }

    public List<String> versions() {
      return List.copyOf(versions);
    }

    public boolean deleted() {
      return deleted;
    }

    @Override
    public String toString() {
      return id + (deleted ? "(deleted)" : "") + "@" + peerId + ": " + versions;
    }
  }

  /**
   * A fault for the next call of an operation: the failure code and, for some, what happens first.
   * With {@code neverAnswer} the call is not answered at all (delivery's own send timeout decides).
   */
  public record Fault(int code, String message, boolean showAnyway, boolean neverAnswer) {
    public Fault(int code, String message, boolean showAnyway) {
      this(code, message, showAnyway, false);
    }

    public static Fault rateLimited(long retryAfterMs) {
      return new Fault(ChannelOutlet.RATE_LIMITED, "Too Many Requests: retry after; retryAfterMs=" + retryAfterMs, false);
    }

    /**
     * The connection broke before the platform took the request: nothing was shown, and the
     * adapter knows it (connect refused, reset while the request was still being written), as
     * real adapters report it: 503, not sent.
     */
    public static Fault resetBefore() {
      return new Fault(ChannelOutlet.TRANSIENT, "connection reset before the request was sent", false);
    }

    /**
     * The platform took the request and showed the message, then the connection broke before
     * the answer: real adapters cannot tell this from a reset before the platform acted, so they
     * report the outcome as unknown (504).
     */
    public static Fault resetAfter() {
      return new Fault(ChannelOutlet.AMBIGUOUS, "connection reset after the request was sent", true);
    }

    /** The request left and the platform showed the message, but the answer never came. */
    public static Fault ackLost() {
      return new Fault(ChannelOutlet.AMBIGUOUS, "timed out waiting for the response", true);
    }

    /** The adapter's own timeout: the request left, nothing is known, the platform did not show it. */
    public static Fault timeoutNotShown() {
      return new Fault(ChannelOutlet.AMBIGUOUS, "timed out waiting for the response", false);
    }

    /** The call is never answered, and the platform did ({@code shown}) or did not show the message. */
    public static Fault noAnswer(boolean shown) {
      return new Fault(0, "never answered", shown, true);
    }

    public static Fault badFormatting() {
      return new Fault(ChannelOutlet.FORMAT_REJECTED, "Bad Request: can't parse entities", false);
    }

    public static Fault rejected() {
      return new Fault(ChannelOutlet.REJECTED, "Bad Request: message can't be edited", false);
    }

    /** Refused for good, as a platform refuses a chat it cannot post to. */
    public static Fault chatNotFound() {
      return new Fault(ChannelOutlet.REJECTED, "Bad Request: chat not found", false);
    }

    /** Not sent, try later (a 5xx from the platform). */
    public static Fault unavailable() {
      return new Fault(ChannelOutlet.TRANSIENT, "Service Unavailable", false);
    }
  }

  /** An outlet call and when the stand-in received it ({@link System#nanoTime()}). */
  public record Call(ChannelOutlet.Request request, long atNanos) {
  }

  private final String channel;
  private final String account;
  private final ChannelIngress ingress;
  private final Pool pool;
  private final MessageConsumer<JsonObject> outlet;
  private final Map<String, Shown> messages = new LinkedHashMap<>();
  private final List<Map.Entry<Predicate<ChannelOutlet.Request>, Fault>> faults = new ArrayList<>();
  private final List<Call> calls = new ArrayList<>();
  private final AtomicInteger ids = new AtomicInteger();
  private final boolean rejectFormatting;
  private final Vertx vertx;
  private final WorkspaceBus bus;
  private final ChannelOutlet.Profile profile;

  public TestChannel(Vertx vertx, DatabaseConfig db, String workspaceId, String channel, String account) {
    this(vertx, db, workspaceId, new ChannelOutlet.Profile(channel, account, 0, false, 0, "markdown", false), false);
  }

  /**
   * @param profile           what the account takes (announced to delivery, as real adapters do)
   * @param rejectFormatting  refuse every formatted (non-plain) message, like a platform with broken parse mode
   */
  public TestChannel(Vertx vertx, DatabaseConfig db, String workspaceId, ChannelOutlet.Profile profile,
      boolean rejectFormatting) {
    this(vertx, db, workspaceId, profile, rejectFormatting, true);
  }

  /**
   * @param announce announce the profile now; otherwise the outlet serves but delivery knows nothing
   *                 of the account until {@link #register()} (an adapter still starting, like a
   *                 Telegram bot waiting for getMe)
   */
  public TestChannel(Vertx vertx, DatabaseConfig db, String workspaceId, ChannelOutlet.Profile profile,
      boolean rejectFormatting, boolean announce) {
    this.vertx = vertx;
    this.profile = profile;
    this.channel = profile.channel();
    this.account = profile.accountId();
    this.rejectFormatting = rejectFormatting;
    this.bus = new WorkspaceBus(vertx.eventBus(), workspaceId);
    this.pool = Database.pool(vertx, db, db.workspaceSchema(workspaceId));
    this.ingress = new ChannelIngress(bus, new InboundStore(pool));
    this.outlet = vertx.eventBus().localConsumer(bus.address(ChannelOutlet.address(channel, account)), msg -> {
      ChannelOutlet.Request r = ChannelOutlet.Request.fromJson(msg.body());
      JsonObject reply;
      synchronized (messages) {
        calls.add(new Call(r, System.nanoTime()));
        Fault f = null;
        for (var it = faults.iterator(); it.hasNext(); ) {
          var e = it.next();
          if (e.getKey().test(r)) {
            f = e.getValue();
            it.remove();
            break;
          }
        }
        if (f == null && rejectFormatting && !"plain".equals(r.format()) && (r.op().equals(ChannelOutlet.SEND)
            || r.op().equals(ChannelOutlet.EDIT)) && !r.text().isEmpty()) {
          f = Fault.badFormatting();
        }
        if (f != null) {
          if (f.showAnyway()) {
            apply(r);
          }
          messages.notifyAll();
          if (!f.neverAnswer()) {
            msg.fail(f.code(), f.message());
          }
          return;
        }
        reply = apply(r);
        messages.notifyAll();
      }
      if (reply == null) {
        msg.fail(ChannelOutlet.GONE, "Bad Request: message to edit not found");
      } else {
        msg.reply(reply);
      }
    });
    try {
      outlet.completion().await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    if (announce) {
      register();
    }
  }

  /** Announces the account's profile to delivery and waits until delivery took it. */
  public TestChannel register() {
    try {
      vertx.eventBus().request(bus.address(DeliveryAddresses.REGISTER), profile.toJson()).await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return this;
  }

  /** Applies a request to the chat state; null when an edit or delete names no message. */
  private JsonObject apply(ChannelOutlet.Request r) {
    switch (r.op()) {
      case ChannelOutlet.SEND -> {
        String id = "p-" + ids.incrementAndGet();
        messages.put(id, new Shown(id, r));
        return ChannelOutlet.Receipt.of(id).toJson();
      }
      case ChannelOutlet.EDIT -> {
        Shown s = messages.get(r.messageId());
        if (s == null || s.deleted) {
          return null;
        }
        if (!s.text().equals(r.text())) {
          s.versions.add(r.text());
        }
        return ChannelOutlet.Receipt.of(s.id).toJson();
      }
      case ChannelOutlet.DELETE -> {
        Shown s = messages.get(r.messageId());
        if (s == null) {
          return null;
        }
        s.deleted = true;
        return ChannelOutlet.Receipt.of(s.id).toJson();
      }
      default -> {
        for (Shown s : messages.values()) {
          if (!s.deleted && r.obligationId() != null && r.obligationId().equals(s.obligationId) && s.chunk == r.chunk()) {
            return ChannelOutlet.Receipt.of(s.id).toJson();
          }
        }
        return new ChannelOutlet.Receipt(null, false).toJson();
      }
    }
  }

  /** Makes the next call of {@code op} fail with {@code fault} (faults queue up in order). */
  public TestChannel inject(String op, Fault fault) {
    return inject(r -> r.op().equals(op), fault);
  }

  /** Makes the next call matching {@code when} fail with {@code fault}; each fault is used once, in order. */
  public TestChannel inject(Predicate<ChannelOutlet.Request> when, Fault fault) {
    synchronized (messages) {
      faults.add(Map.entry(when, fault));
    }
    return this;
  }

  /** A builder for a message from this channel account. */
  public Inbound.Builder message() {
    return Inbound.from(channel, account).platformMessageId("m-" + ids.incrementAndGet() + "-" + System.nanoTime());
  }

  /** Hands a message in as the platform adapter would; returns routing's answer. */
  public JsonObject send(Inbound in) {
    try {
      return ingress.accept(in).await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("inbound not accepted: " + e.getMessage(), e);
    }
  }

  /** Hands a message in without waiting: routing's answer comes with the future. */
  public io.vertx.core.Future<JsonObject> sendAsync(Inbound in) {
    return ingress.accept(in);
  }

  /** A direct message from {@code sender}. */
  public JsonObject dm(String sender, String text) {
    return send(message().peer("direct", sender).sender(sender, sender).text(text).build());
  }

  /** Every message ever shown (also deleted ones) matching {@code p}. */
  public List<Shown> shown(Predicate<Shown> p) {
    synchronized (messages) {
      return messages.values().stream().filter(p).toList();
    }
  }

  /** What a user sees in one chat now, in order: messages that were not deleted. */
  public List<Shown> chat(String peerId) {
    return shown(s -> peerId.equals(s.peerId) && !s.deleted);
  }

  /** The texts a user sees in one chat, joined: a split reply reads as one. */
  public String visibleText(String peerId) {
    return String.join("", chat(peerId).stream().map(Shown::text).toList());
  }

  /** Every outlet call, in order. */
  public List<ChannelOutlet.Request> calls(Predicate<ChannelOutlet.Request> p) {
    return timedCalls(p).stream().map(Call::request).toList();
  }

  /** Every outlet call matching {@code p}, in order, with when it came. */
  public List<Call> timedCalls(Predicate<ChannelOutlet.Request> p) {
    synchronized (messages) {
      return calls.stream().filter(c -> p.test(c.request())).toList();
    }
  }

  /** Waits until a shown, not deleted, message matches; returns it. */
  public Shown await(Predicate<Shown> p) {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    synchronized (messages) {
      while (true) {
        for (Shown s : messages.values()) {
          if (!s.deleted && p.test(s)) {
            return s;
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("nothing matching was shown; ledger: " + messages.values());
        }
        try {
          messages.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }
  }

  /** Waits for a message in chat {@code peerId} whose current text contains {@code token}. */
  public Shown awaitText(String peerId, String token) {
    return await(s -> peerId.equals(s.peerId) && s.text().contains(token));
  }

  /** A channel account entry for workspace.json. */
  public static JsonObject account(String id, String dmPolicy, JsonArray allowFrom) {
    return new JsonObject().put("id", id).put("dmPolicy", dmPolicy).put("allowFrom", allowFrom)
        .put("groupPolicy", "open");
  }

  @Override
  public void close() {
    try {
      outlet.unregister().await(10, TimeUnit.SECONDS);
      pool.close().await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
