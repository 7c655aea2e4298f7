package dev.switchboard.delivery;

import dev.switchboard.store.GroupCommit;
import dev.switchboard.store.Ids;
import dev.switchboard.store.Obligation;
import dev.switchboard.store.OutboxStore;
import dev.switchboard.store.PreviewStore;
import dev.switchboard.workspace.RoutingRules;
import dev.switchboard.workspace.BusFailure;
import dev.switchboard.workspace.WorkspaceBus;
import dev.switchboard.workspace.WorkspaceConfig;
import dev.switchboard.workspace.WorkspaceContext;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers what the outbox owes, exactly once as far as the platform lets us know. An obligation
 * is claimed (pending → sending) before anything is sent; its reply is cut into chunks for the
 * channel ({@link Chunker}), each converted to the channel's dialect ({@link Formatter}) and sent in
 * order, the platform id of every chunk recorded as it lands, so a retry resumes after the last
 * chunk that arrived. Failures are retried with backoff (honouring the platform's retry-after);
 * formatting the platform refuses is resent as plain text; an attempt whose outcome is unknown is
 * reconciled with the platform before anything is sent again, or, where the platform cannot tell,
 * resent once marked as a possible duplicate. On channels that edit messages, a preview shows the
 * reply while it streams and the final text edits that preview: the obligation alone decides
 * whether a final is still owed. Previews and final edits of every reply in one chat share that
 * chat's edit budget ({@code editThrottleMs}). An obligation waits, pending, until its channel
 * account's adapter has announced what the account takes: its limit, dialect, edits and whether it
 * can reconcile decide how it is sent. Obligations survive restarts; nothing here re-runs a turn.
 */
public final class DeliveryVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(DeliveryVerticle.class);
  private static final Pattern RETRY_AFTER = Pattern.compile("retryAfterMs=(\\d+)");
  static final long SWEEP_MS = 1_000;
  static final long RECONCILE_DELAY_MS = 500;
  static final String FAILURE_NOTICE = "Sorry, a reply could not be delivered here.";

  private WorkspaceBus bus;
  private WorkspaceConfig.DeliverySettings settings;
  /** This instance's claim token: steps out of {@code sending} are written only while it holds the claim. */
  private final String owner = Ids.next();
  private OutboxStore outbox;
  private PreviewStore previewStore;
  private long sweepTimer;
  private boolean sweeping;
  /** Obligations this process is sending right now (the database claim is the real guard). */
  private final Set<String> inFlight = new HashSet<>();
  private final Map<String, ChannelOutlet.Profile> profiles = new HashMap<>();
  /** The channel accounts of the workspace's configuration: their adapters announce themselves. */
  private final List<Map.Entry<String, String>> expected = new java.util.ArrayList<>();
  private final Map<String, Preview> previews = new HashMap<>();
  /** Edit budgets, per chat ({@link #chatKey}). */
  private final Map<String, ChatGate> gates = new HashMap<>();

  /** A run's streaming preview message. */
  private static final class Preview {
    final String runId;
    final ReplyTarget target;
    final String chat;
    final long createdAt = System.currentTimeMillis();
    String messageId;
    String pending = "";
    String sent = "";
    /** Waiting for the chat's next edit slot. */
    boolean queued;
    Future<Void> inFlight;
    boolean closed;

    Preview(String runId, ReplyTarget target) {
      this.runId = runId;
      this.target = target;
      this.chat = chatKey(target);
    }
  }

  /**
   * One chat's edit budget. Preview creations, preview edits and final edits of every reply in the
   * chat take turns: one at a time, the next {@code editThrottleMs} after the previous one was
   * answered (longer when the platform asked for a pause), so several replies streaming into one
   * chat do not multiply its rate of edits.
   */
  private static final class ChatGate {
    long notBefore;
    boolean busy;
    long timer = -1;
    final ArrayDeque<Promise<Void>> waiting = new ArrayDeque<>();
  }

  /** The obligation's claim was taken over by another process: this attempt stops writing. */
  private static final class LostClaim extends RuntimeException {
    LostClaim(String id) {
      super("delivery " + id + " was taken over by another process", null, false, false);
    }
  }

  @Override
  public Future<?> start() {
    WorkspaceContext ctx = WorkspaceContext.from(config());
    bus = ctx.bus(vertx);
    settings = ctx.config().delivery();
    ctx.config().routing().accounts().forEach(a -> expected.add(Map.entry(a.channel(), a.id())));
    var pool = ctx.pool(vertx);
    // claims and outcomes of many sends share a commit under load
    outbox = new OutboxStore(pool, new GroupCommit(pool, 64));
    previewStore = new PreviewStore(pool);
    return Future.all(List.of(
            bus.<JsonObject>consumer(DeliveryAddresses.DISPATCH, this::onDispatch).completion(),
            bus.<JsonObject>consumer(DeliveryAddresses.STATS, this::onStats).completion(),
            bus.<JsonObject>consumer(DeliveryAddresses.REGISTER, this::onRegister).completion(),
            bus.<JsonObject>consumer(DeliveryAddresses.PREVIEW, this::onPreview).completion(),
            bus.<JsonObject>consumer(DeliveryAddresses.SEND, this::onSend).completion(),
            bus.<JsonObject>consumer(DeliveryAddresses.ACTIVITY, this::onActivity).completion()))
        .compose(v -> outbox.recoverSending(owner))
        .onSuccess(n -> {
          if (n > 0) {
            LOG.warn("{} delivery(ies) were being sent when the process stopped; they are reconciled before any resend", n);
          }
          sweepTimer = vertx.setPeriodic(SWEEP_MS, SWEEP_MS, t -> sweep());
        });
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweepTimer);
    gates.values().forEach(g -> vertx.cancelTimer(g.timer));
    return Future.succeededFuture();
  }

  // ---- registration, stats, dispatch ---------------------------------------------------------

  private void onRegister(Message<JsonObject> msg) {
    ChannelOutlet.Profile p = ChannelOutlet.Profile.fromJson(msg.body());
    if (!Formatter.FORMATS.contains(p.format()) || (p.maxChars() != 0 && p.maxChars() < Chunker.MIN_LIMIT)) {
      LOG.warn("ignoring the profile of {}/{}: format {} or maxChars {} not usable", p.channel(), p.accountId(),
          p.format(), p.maxChars());
      return;
    }
    boolean first = profiles.put(accountKey(p.channel(), p.accountId()), p) == null;
    if (msg.replyAddress() != null) {
      msg.reply(new JsonObject().put("registered", true));
    }
    if (first) {
      sweep(); // what waited for this account goes out now, not at the next tick
    }
  }

  private static String accountKey(String channel, String accountId) {
    return channel + "/" + accountId;
  }

  /** A chat, for its edit budget: channel, account and chat id (threads of a chat share it). */
  private static String chatKey(ReplyTarget t) {
    return t.channel() + "\0" + t.accountId() + "\0" + t.peerId();
  }

  private ChannelOutlet.Profile profile(String channel, String accountId) {
    ChannelOutlet.Profile p = profiles.get(accountKey(channel, accountId));
    return p != null ? p : ChannelOutlet.Profile.unknown(channel, accountId);
  }

  private void onDispatch(Message<JsonObject> msg) {
    String id = msg.body().getString("obligationId");
    JsonObject fresh = msg.body().getJsonObject("obligation");
    if (fresh != null) {
      deliver(Obligation.fromJson(fresh), true);
    } else if (id != null) {
      outbox.find(id)
          .onSuccess(o -> {
            if (o != null) {
              deliver(o, false);
            }
          })
          .onFailure(err -> LOG.warn("dispatch of {}: {} (the sweep picks it up)", id, err.toString()));
    }
  }

  private void onStats(Message<JsonObject> msg) {
    List<String> states = List.of(Obligation.PENDING, Obligation.SENDING, Obligation.DELIVERED, Obligation.FAILED,
        Obligation.AMBIGUOUS);
    List<Future<Integer>> counts = states.stream().map(outbox::countByStatus).toList();
    Future.all(counts).onComplete(ar -> {
      if (ar.failed()) {
        BusFailure.reply(msg, ar.cause(), LOG);
        return;
      }
      JsonObject out = new JsonObject();
      for (int i = 0; i < states.size(); i++) {
        out.put(states.get(i), counts.get(i).result());
      }
      msg.reply(out.put("previews", previews.size()));
    });
  }

  /**
   * Sends everything due that nobody is sending (retries, anything a dispatch missed, and what
   * waited for its account to be announced), for announced accounts only.
   */
  private void sweep() {
    long now = System.currentTimeMillis();
    long staleBefore = now - 3_600_000;
    previews.values().removeIf(p -> p.createdAt < staleBefore && p.inFlight == null && !p.queued);
    gates.values().removeIf(g -> !g.busy && g.waiting.isEmpty() && g.timer < 0 && g.notBefore < now);
    if (sweeping) {
      return;
    }
    sweeping = true;
    outbox.due(Instant.now(), 200, waiting())
        .onSuccess(list -> list.forEach(o -> deliver(o, false)))
        .onFailure(err -> LOG.warn("outbox sweep failed: {}", err.toString()))
        .onComplete(x -> sweeping = false);
  }

  /**
   * The channel accounts this workspace configures whose adapter has not announced
   * itself yet: their obligations wait, since sent with an unknown profile they would go out whole,
   * unconverted, without a duplicate check. An account the workspace does not configure (any more)
   * will never be announced: its obligations are tried, and fail like any undeliverable reply.
   */
  private List<Map.Entry<String, String>> waiting() {
    return expected.stream().filter(a -> !profiles.containsKey(accountKey(a.getKey(), a.getValue()))).toList();
  }

  /**
   * Claims and sends one obligation. A fresh obligation handed over with its dispatch (just
   * committed, never sent) needs no second read after the claim. One for an account that is
   * expected but not announced yet is left pending; the sweep takes it once the adapter registers.
   */
  private void deliver(Obligation o, boolean fresh) {
    if (fresh && Obligation.DELIVERED.equals(o.status())) {
      handOver(o);
      return;
    }
    String id = o.id();
    if (waiting().contains(Map.entry(o.channel(), o.accountId()))) {
      LOG.info("delivery {} waits until {}/{} is announced by its adapter", id, o.channel(), o.accountId());
      return;
    }
    if (!inFlight.add(id)) {
      return;
    }
    outbox.claim(id, Instant.now(), owner)
        .compose(won -> !won ? Future.succeededFuture()
            : fresh && o.attempts() == 0 && o.receipts().isEmpty() ? send(o.claimed())
            : outbox.find(id).compose(this::send))
        .onFailure(err -> LOG.warn("delivery of {} failed: {}", id, err.toString()))
        .onComplete(x -> inFlight.remove(id));
  }

  /**
   * Hands a live obligation ({@link Obligation#live}: to webchat's connections, settled when it was
   * written) to its outlet once. Nothing is claimed or recorded: if the hand-over fails, the process
   * is ending or the client is gone, and clients read the reply from the transcript.
   */
  private void handOver(Obligation o) {
    ChannelOutlet.Profile profile = profile(o.channel(), o.accountId());
    Attempt a = new Attempt(o, profile, List.of(o.payload().getString("text", "")));
    request(a, ChannelOutlet.SEND, 0, a.chunks.get(0), null)
        .onSuccess(r -> {
          a.receipts.add(r.messageId());
          announceDelivered(a);
        })
        .onFailure(err -> LOG.warn("hand-over of {} to {}/{} failed: {}", o.id(), o.channel(), o.accountId(),
            err.toString()));
  }

  // ---- one delivery attempt ------------------------------------------------------------------

  /** What one attempt knows as it goes: chunks landed so far and the reconcile/marker state. */
  private static final class Attempt {
    final Obligation o;
    final ChannelOutlet.Profile profile;
    final ReplyTarget target;
    final List<String> chunks;
    final JsonArray receipts;
    boolean reconcile;
    boolean marked;
    String previewId;
    boolean usedPreview;

    Attempt(Obligation o, ChannelOutlet.Profile profile, List<String> chunks) {
      this.o = o;
      this.profile = profile;
      this.target = ReplyTarget.fromJson(o.target());
      this.chunks = chunks;
      this.receipts = o.receipts().copy();
      this.reconcile = o.reconcile();
      this.marked = o.marked();
    }
  }

  private Future<Void> send(Obligation o) {
    ChannelOutlet.Profile profile = profile(o.channel(), o.accountId());
    String text = o.payload().getString("text", "");
    List<String> chunks = text.isEmpty() || profile.maxChars() == 0 ? List.of(text) : Chunker.split(text, limit(profile));
    Attempt a = new Attempt(o, profile, chunks);
    Future<String> preview = profile.edits() && o.runId() != null && a.receipts.isEmpty() && !o.payload().containsKey("notice")
        ? closePreview(o.runId()) : Future.succeededFuture();
    return preview.compose(previewId -> {
      a.previewId = previewId;
      a.usedPreview = previewId != null;
      if (text.isEmpty() && previewId != null) {
        // a silent reply after a preview: take the preview down, nothing is owed
        return request(a, ChannelOutlet.DELETE, 0, "", previewId).recover(err -> Future.succeededFuture())
            .compose(x -> finish(a));
      }
      return chunk(a, a.receipts.size());
    }).recover(err -> retryOrFail(a, err));
  }

  /**
   * Chunk size for a channel: its cap, less room for the possible-duplicate marker where the
   * platform cannot reconcile (a marked resend of a full chunk must still fit: Telegram refuses a
   * message over its cap for good).
   */
  static int limit(ChannelOutlet.Profile profile) {
    return profile.reconcile() ? profile.maxChars()
        : Math.max(Chunker.MIN_LIMIT, profile.maxChars() - ChannelOutlet.DUPLICATE_MARKER.length());
  }

  private Future<Void> chunk(Attempt a, int i) {
    if (i >= a.chunks.size()) {
      return finish(a);
    }
    if (a.reconcile) {
      return reconcile(a, i);
    }
    boolean editPreview = i == 0 && a.previewId != null;
    Future<ChannelOutlet.Receipt> sent = editPreview
        ? editFinal(a, i).recover(err -> {
          if (code(err) == ChannelOutlet.GONE || code(err) == ChannelOutlet.REJECTED || code(err) == ChannelOutlet.UNSUPPORTED) {
            // the preview cannot carry the final: take it down and send the final anew
            String stale = a.previewId;
            a.previewId = null;
            return request(a, ChannelOutlet.DELETE, i, "", stale).recover(x -> Future.succeededFuture())
                .compose(x -> sendNew(a, i));
          }
          return Future.failedFuture(err);
        })
        : sendNew(a, i);
    return sent.compose(receipt -> {
      a.receipts.add(receipt.messageId());
      a.marked = false;
      // between chunks the progress is recorded; after the last one, delivered() records it
      return i + 1 < a.chunks.size() ? progress(a, false, false) : Future.<Void>succeededFuture();
    }).compose(x -> chunk(a, i + 1));
  }

  /** A chunk resent after an unknown outcome carries the marker until it lands, in either dialect. */
  private static String text(Attempt a, int i, String format) {
    return (a.marked ? ChannelOutlet.DUPLICATE_MARKER : "") + Formatter.format(a.chunks.get(i), format);
  }

  private Future<ChannelOutlet.Receipt> sendNew(Attempt a, int i) {
    return request(a, ChannelOutlet.SEND, i, text(a, i, a.profile.format()), null)
        .recover(err -> code(err) == ChannelOutlet.FORMAT_REJECTED
            ? request(a, ChannelOutlet.SEND, i, text(a, i, "plain"), null, "plain")
            : Future.failedFuture(err));
  }

  /** The final text into the preview, when the chat's edit budget allows (it may have just been edited). */
  private Future<ChannelOutlet.Receipt> editFinal(Attempt a, int i) {
    String chat = chatKey(a.target);
    return acquire(chat).compose(x -> request(a, ChannelOutlet.EDIT, i, text(a, i, a.profile.format()), a.previewId)
        .recover(err -> code(err) == ChannelOutlet.FORMAT_REJECTED
            ? request(a, ChannelOutlet.EDIT, i, text(a, i, "plain"), a.previewId, "plain")
            : Future.failedFuture(err))
        .andThen(ar -> release(chat, waitAfter(ar.failed() ? ar.cause() : null, a.profile))));
  }

  /** Records progress while this instance holds the claim; fails with {@link LostClaim} when it does not. */
  private Future<Void> progress(Attempt a, boolean reconcile, boolean marked) {
    return outbox.progress(a.o.id(), owner, a.receipts, reconcile, marked)
        .compose(held -> held ? Future.<Void>succeededFuture() : Future.failedFuture(new LostClaim(a.o.id())));
  }

  /**
   * The last send of chunk {@code i} may have arrived. Ask the platform where it can tell;
   * otherwise send it again once, marked as a possible duplicate; when even the marked resend's
   * outcome is unknown, the obligation ends as ambiguous rather than risk a third copy. An edit of
   * the preview is simply made again: editing twice shows one message.
   */
  private Future<Void> reconcile(Attempt a, int i) {
    if (i == 0 && a.previewId != null) {
      a.reconcile = false;
      return chunk(a, i);
    }
    if (a.profile.reconcile()) {
      return request(a, ChannelOutlet.RECONCILE, i, "", null).compose(r -> {
        a.reconcile = false;
        if (r.found()) {
          a.receipts.add(r.messageId());
          a.marked = false;
          return progress(a, false, false).compose(x -> chunk(a, i + 1));
        }
        return progress(a, false, a.marked).compose(x -> chunk(a, i));
      });
    }
    if (a.marked) {
      LOG.warn("delivery {} to {}/{}: outcome unknown after a marked resend; not sending a third copy", a.o.id(),
          a.o.channel(), a.o.accountId());
      return outbox.fail(a.o.id(), owner, Obligation.AMBIGUOUS,
          "outcome unknown after a resend marked as a possible duplicate").mapEmpty();
    }
    a.reconcile = false;
    a.marked = true;
    // recorded before the resend: a crash now must not lead to an unmarked copy
    return progress(a, false, true).compose(x -> chunk(a, i));
  }

  private Future<Void> finish(Attempt a) {
    return outbox.delivered(a.o.id(), owner, a.receipts).compose(won -> {
      if (!won) {
        LOG.warn("delivery {}: sent, but another process took the obligation over meanwhile; it reconciles", a.o.id());
        return Future.<Void>succeededFuture();
      }
      if (a.usedPreview) {
        previewStore.forget(a.o.runId()).onFailure(err -> LOG.debug("preview row of {}: {}", a.o.runId(), err.toString()));
      }
      announceDelivered(a);
      return Future.<Void>succeededFuture();
    });
  }

  private void announceDelivered(Attempt a) {
    bus.publish(DeliveryAddresses.DELIVERED, new JsonObject().put("obligationId", a.o.id()).put("runId", a.o.runId())
        .put("channel", a.o.channel()).put("accountId", a.o.accountId()).put("target", a.o.target())
        .put("text", a.o.payload().getString("text", "")).put("receipts", a.receipts)
        .put("mirrorSessionKey", a.o.payload().getString("mirrorSessionKey")));
  }

  private Future<ChannelOutlet.Receipt> request(Attempt a, String op, int chunk, String text, String messageId) {
    return request(a, op, chunk, text, messageId, a.profile.format());
  }

  private Future<ChannelOutlet.Receipt> request(Attempt a, String op, int chunk, String text, String messageId,
      String format) {
    ChannelOutlet.Request r = new ChannelOutlet.Request(op, a.o.id(), a.o.runId(), a.target, chunk, a.chunks.size(), text,
        format, messageId, false, a.o.attempts(), a.o.payload());
    return bus.request(ChannelOutlet.address(a.o.channel(), a.o.accountId()), r.toJson(), settings.sendTimeoutMs())
        .map(ChannelOutlet.Receipt::fromJson);
  }

  private Future<Void> retryOrFail(Attempt a, Throwable err) {
    Obligation o = a.o;
    if (err instanceof LostClaim) {
      LOG.warn(err.getMessage());
      return Future.succeededFuture();
    }
    int code = code(err);
    String why = describe(err);
    if (code == ChannelOutlet.REJECTED || code == BusFailure.BAD_REQUEST) {
      LOG.warn("delivery {} to {}/{} rejected for good: {}", o.id(), o.channel(), o.accountId(), why);
      return outbox.fail(o.id(), owner, Obligation.FAILED, why).onSuccess(won -> notice(a, won)).mapEmpty();
    }
    // no answer in time: the request may have arrived (the adapter's own timeouts answer AMBIGUOUS)
    boolean unknownOutcome = code == ChannelOutlet.AMBIGUOUS
        || (err instanceof ReplyException r && r.failureType() == ReplyFailure.TIMEOUT);
    if (o.attempts() >= settings.maxAttempts()) {
      LOG.warn("delivery {} to {}/{} failed after {} attempts: {}", o.id(), o.channel(), o.accountId(), o.attempts(), why);
      return outbox.fail(o.id(), owner, unknownOutcome ? Obligation.AMBIGUOUS : Obligation.FAILED, why)
          .onSuccess(won -> notice(a, won)).mapEmpty();
    }
    long wait = unknownOutcome ? RECONCILE_DELAY_MS : backoffMs(o.attempts(), settings.backoffMs(), settings.maxBackoffMs());
    long asked = retryAfterMs(err);
    if (asked >= 0) {
      wait = asked;
    }
    LOG.info("delivery {} to {}/{} attempt {} failed ({}); retrying in {} ms{}", o.id(), o.channel(), o.accountId(),
        o.attempts(), why, wait, unknownOutcome ? " after reconciling" : "");
    Instant when = Instant.now().plusMillis(wait);
    boolean reconcile = unknownOutcome || a.reconcile;
    return progress(a, reconcile, a.marked)
        .compose(x -> outbox.retryAt(o.id(), owner, when, why, reconcile))
        .<Void>mapEmpty()
        .recover(e -> e instanceof LostClaim ? Future.succeededFuture() : Future.failedFuture(e));
  }

  /**
   * After the last attempt (or a refusal for good), one best-effort short notice, so the user is
   * not left waiting in silence; only by the instance whose claim ended the obligation.
   */
  private void notice(Attempt a, boolean won) {
    if (!won || a.o.payload().containsKey("notice") || "webchat".equals(a.o.channel())) {
      return;
    }
    ChannelOutlet.Request r = new ChannelOutlet.Request(ChannelOutlet.SEND, null, a.o.runId(), a.target, 0, 1,
        Formatter.format(FAILURE_NOTICE, a.profile.format()), a.profile.format(), null, false, 1,
        new JsonObject().put("notice", "failed"));
    bus.request(ChannelOutlet.address(a.o.channel(), a.o.accountId()), r.toJson(), settings.sendTimeoutMs())
        .onFailure(err -> LOG.info("failure notice to {}/{} not delivered either: {}", a.o.channel(), a.o.accountId(),
            err.getMessage()));
  }

  /**
   * {@code first}, twice that, four times ... capped at {@code max}, with up to 20 % jitter so
   * retries of many obligations spread out.
   */
  static long backoffMs(int attempts, long first, long max) {
    long base = Math.min(max, first << Math.min(Math.max(attempts - 1, 0), 20));
    return base + ThreadLocalRandom.current().nextLong(base / 5 + 1);
  }

  private static int code(Throwable err) {
    return BusFailure.codeOf(err);
  }

  private static String describe(Throwable err) {
    if (err instanceof ReplyException r) {
      return r.failureType() + (r.getMessage() == null ? "" : ": " + r.getMessage());
    }
    return String.valueOf(err.getMessage());
  }

  // ---- streaming previews --------------------------------------------------------------------

  private void onPreview(Message<JsonObject> msg) {
    JsonObject b = msg.body();
    String runId = b.getString("runId");
    ReplyTarget target = b.getJsonObject("target") == null ? null : ReplyTarget.fromJson(b.getJsonObject("target"));
    if (runId == null || target == null) {
      return;
    }
    ChannelOutlet.Profile profile = profile(target.channel(), target.accountId());
    if (!profile.edits()) {
      return;
    }
    String end = b.getString("end");
    if (end != null) {
      Preview p = previews.remove(runId);
      if (p != null) {
        p.closed = true;
        if ("interrupt".equals(end)) {
          // an interrupted reply never appears: take its preview down once it exists
          (p.inFlight == null ? Future.<Void>succeededFuture() : p.inFlight).onComplete(x -> {
            if (p.messageId != null) {
              previewRequest(p, profile, ChannelOutlet.DELETE, "").onComplete(y -> previewStore.forget(runId));
            }
          });
        }
      }
      return;
    }
    Preview p = previews.computeIfAbsent(runId, id -> new Preview(id, target));
    if (p.closed) {
      return;
    }
    String text = b.getString("text", "");
    int max = profile.maxChars() == 0 ? Integer.MAX_VALUE : profile.maxChars() - 1;
    p.pending = text.length() > max ? text.substring(0, max - 1) + "…" : text;
    schedulePreview(p, profile);
  }

  /** Queues the preview for its chat's next edit slot, unless it is queued or in flight already. */
  private void schedulePreview(Preview p, ChannelOutlet.Profile profile) {
    if (p.closed || p.inFlight != null || p.queued || p.pending.isBlank() || p.pending.equals(p.sent)) {
      return;
    }
    p.queued = true;
    acquire(p.chat).onComplete(x -> {
      p.queued = false;
      flushPreview(p, profile);
    });
  }

  /** Runs with the chat's edit slot held; gives it back when done (at once when nothing was sent). */
  private void flushPreview(Preview p, ChannelOutlet.Profile profile) {
    if (p.closed || p.pending.equals(p.sent)) {
      release(p.chat, 0);
      return;
    }
    String text = p.pending;
    boolean create = p.messageId == null;
    Promise<Void> done = Promise.promise();
    p.inFlight = done.future();
    previewRequest(p, profile, create ? ChannelOutlet.SEND : ChannelOutlet.EDIT, text)
        .compose(r -> {
          p.sent = text;
          if (create) {
            p.messageId = r.messageId();
            return previewStore.record(p.runId, p.target.channel(), p.target.accountId(), r.messageId());
          }
          return Future.succeededFuture();
        })
        .onFailure(err -> LOG.debug("preview of {} not updated: {}", p.runId, err.toString()))
        .onComplete(ar -> {
          release(p.chat, waitAfter(ar.failed() ? ar.cause() : null, profile));
          p.inFlight = null;
          done.complete();
          schedulePreview(p, profile);
        });
  }

  /** How long a chat's edits pause after one: the throttle, or what the platform asked for when longer. */
  private static long waitAfter(Throwable err, ChannelOutlet.Profile profile) {
    return Math.max(profile.editThrottleMs(), retryAfterMs(err));
  }

  /** The wait a rate-limited platform asked for ({@code retryAfterMs=} in the failure), or -1. */
  private static long retryAfterMs(Throwable err) {
    Matcher m = err == null || err.getMessage() == null ? null : RETRY_AFTER.matcher(err.getMessage());
    return m != null && code(err) == ChannelOutlet.RATE_LIMITED && m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  /** Completes when it is {@code chat}'s turn to be edited; the caller must {@link #release} it. */
  private Future<Void> acquire(String chat) {
    ChatGate g = gates.computeIfAbsent(chat, k -> new ChatGate());
    Promise<Void> turn = Promise.promise();
    g.waiting.add(turn);
    pump(g);
    return turn.future();
  }

  /** Ends the holder's turn; the next may edit {@code waitMs} from now. */
  private void release(String chat, long waitMs) {
    ChatGate g = gates.get(chat);
    if (g == null) {
      return;
    }
    g.busy = false;
    g.notBefore = Math.max(g.notBefore, System.currentTimeMillis() + waitMs);
    pump(g);
  }

  private void pump(ChatGate g) {
    if (g.busy || g.timer >= 0 || g.waiting.isEmpty()) {
      return;
    }
    long delay = g.notBefore - System.currentTimeMillis();
    if (delay > 0) {
      g.timer = vertx.setTimer(delay, t -> {
        g.timer = -1;
        pump(g);
      });
      return;
    }
    g.busy = true;
    g.waiting.poll().complete();
  }

  private Future<ChannelOutlet.Receipt> previewRequest(Preview p, ChannelOutlet.Profile profile, String op, String text) {
    String formatted = text.isEmpty() ? "" : Formatter.format(text, profile.format());
    ChannelOutlet.Request r = new ChannelOutlet.Request(op, null, p.runId, p.target, 0, 1, formatted, profile.format(),
        p.messageId, true, 1, new JsonObject());
    return bus.request(ChannelOutlet.address(p.target.channel(), p.target.accountId()), r.toJson(), settings.sendTimeoutMs())
        .map(ChannelOutlet.Receipt::fromJson)
        .recover(err -> code(err) == ChannelOutlet.FORMAT_REJECTED && !text.isEmpty()
            ? bus.request(ChannelOutlet.address(p.target.channel(), p.target.accountId()),
                new ChannelOutlet.Request(op, null, p.runId, p.target, 0, 1, text, "plain", p.messageId, true, 1,
                    new JsonObject()).toJson(), settings.sendTimeoutMs()).map(ChannelOutlet.Receipt::fromJson)
            : Future.failedFuture(err));
  }

  /**
   * The final of a run is about to be delivered: no more preview edits. Completes with the preview's
   * message id (waiting for a preview send in flight), from memory or, after a restart, the store.
   */
  private Future<String> closePreview(String runId) {
    Preview p = previews.remove(runId);
    if (p == null) {
      return previewStore.find(runId);
    }
    p.closed = true; // a turn it still waits for is handed on unused
    Future<Void> pending = p.inFlight == null ? Future.succeededFuture() : p.inFlight;
    return pending.map(x -> p.messageId);
  }

  // ---- activity indicators -------------------------------------------------------------------

  /** A turn started or ended: tell the account's adapter, when it shows activity (typing). */
  private void onActivity(Message<JsonObject> msg) {
    JsonObject b = msg.body();
    JsonObject targetJson = b.getJsonObject("target");
    String state = b.getString("state");
    if (targetJson == null || !("typing".equals(state) || "idle".equals(state))) {
      return;
    }
    ReplyTarget target = ReplyTarget.fromJson(targetJson);
    if (!profile(target.channel(), target.accountId()).activity()) {
      return;
    }
    ChannelOutlet.Request r = new ChannelOutlet.Request(ChannelOutlet.ACTIVITY, null, b.getString("runId"), target, 0, 1,
        "", "plain", null, false, 1, new JsonObject().put("state", state).put("ttlMs", b.getLong("ttlMs", 0L)));
    bus.request(ChannelOutlet.address(target.channel(), target.accountId()), r.toJson(), settings.sendTimeoutMs())
        .onFailure(err -> LOG.debug("activity {} for run {} not shown: {}", state, b.getString("runId"), err.toString()));
  }

  // ---- explicit and home targets -------------------------------------------------------------

  /**
   * A message to a target the sender already resolved (the {@code send} method parsed the
   * operator's string and looked up the home chat; routing passes the chat a pairing code goes to).
   */
  private void onSend(Message<JsonObject> msg) {
    JsonObject b = msg.body();
    String text = b.getString("text", "");
    if (text.isBlank()) {
      msg.fail(BusFailure.BAD_REQUEST, "text must not be empty");
      return;
    }
    ReplyTarget rt = b.getValue("target") instanceof JsonObject t ? ReplyTarget.fromJson(t) : null;
    if (rt == null || blank(rt.channel()) || blank(rt.accountId()) || blank(rt.peerId())
        || !RoutingRules.PEER_KINDS.contains(String.valueOf(rt.peerKind()))) {
      msg.fail(BusFailure.BAD_REQUEST, "target must be {channel, accountId, peerKind: direct | group | channel,"
          + " peerId, threadId?}");
      return;
    }
    enqueue(msg, b, text, rt);
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }

  /** Stores the obligation of an explicit send (once per idempotency key) and delivers it. */
  private void enqueue(Message<JsonObject> msg, JsonObject b, String text, ReplyTarget rt) {
    String runId = b.getString("idempotencyKey", Ids.next());
    outbox.ofRun(runId).compose(existing -> {
      if (!existing.isEmpty()) {
        return Future.succeededFuture(existing.get(0)); // the same idempotency key: one message
      }
      JsonObject payload = new JsonObject().put("text", text).put("runId", runId)
          .put("mirrorSessionKey", b.getString("mirrorSessionKey"));
      Obligation o = Obligation.create(runId, null, rt.channel(), rt.accountId(), rt.toJson(), payload);
      return outbox.insert(o).map(x -> o);
    }).onSuccess(o -> {
      deliver(o, o.attempts() == 0 && o.receipts().isEmpty() && Obligation.PENDING.equals(o.status()));
      msg.reply(new JsonObject().put("obligationId", o.id()).put("channel", o.channel()).put("accountId", o.accountId())
          .put("target", o.target()));
    }).onFailure(err -> BusFailure.reply(msg, err, LOG));
  }
}
