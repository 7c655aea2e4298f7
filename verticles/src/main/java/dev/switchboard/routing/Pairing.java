package dev.switchboard.routing;

import dev.switchboard.delivery.DeliveryAddresses;
import dev.switchboard.delivery.ReplyTarget;
import dev.switchboard.store.PairingStore;
import dev.switchboard.workspace.WorkspaceBus;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DM pairing, for every channel: on an account with {@code dmPolicy: pairing}, a sender who is
 * neither on the allowlist nor approved gets a one-time code instead of an answer; an operator
 * approves the code (protocol method {@code pairing.approve}, scope {@code operator.pairing}) and
 * the sender is admitted from then on. Codes are 8 characters from an alphabet without look-alikes
 * (no 0/O/1/I), drawn from {@link SecureRandom}, valid for an hour. A sender gets at most one code
 * message per 10 minutes, an account has at most 3 pending codes, and 5 failed approvals in a row
 * lock the account's approvals for an hour. Codes reach the sender through the outbox, never a model
 * or a session, and never appear in logs.
 */
public final class Pairing {
  private static final Logger LOG = LoggerFactory.getLogger(Pairing.class);
  public static final String ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  public static final int CODE_LENGTH = 8;
  public static final Duration TTL = Duration.ofHours(1);
  public static final Duration RESEND_AFTER = Duration.ofMinutes(10);
  public static final int MAX_PENDING = 3;
  public static final int MAX_FAILURES = 5;
  public static final Duration LOCKOUT = Duration.ofHours(1);
  private static final long SEND_TIMEOUT_MS = 10_000;
  static final String APPROVED_TEXT = "You are approved. You can talk to me now.";

  /** What an unknown sender's message led to. */
  public enum Outcome {
    /** a new code was sent */
    CODE_SENT,
    /** the sender's pending code was sent again (the last message with it is older than the resend window) */
    CODE_RESENT,
    /** a code is pending and was sent within the window: nothing is sent */
    PENDING,
    /** the account already has the maximum of pending codes: nothing is sent */
    FULL
  }

  /** Why an approval failed: no pending request with that code, or approvals on the account are locked. */
  public static final class Refused extends RuntimeException {
    private final boolean locked;

    Refused(String message, boolean locked) {
      super(message, null, false, false);
      this.locked = locked;
    }

    public boolean locked() {
      return locked;
    }
  }

  private final WorkspaceBus bus;
  private final PairingStore store;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  /** Challenges run one at a time per account, so the pending cap holds under concurrent messages. */
  private final Map<String, Future<?>> tails = new HashMap<>();

  public Pairing(WorkspaceBus bus, PairingStore store, Clock clock) {
    this.bus = Objects.requireNonNull(bus);
    this.store = Objects.requireNonNull(store);
    this.clock = Objects.requireNonNull(clock);
  }

  public Future<Boolean> isApproved(Inbound in) {
    return store.isApproved(in.channel(), in.accountId(), in.senderId());
  }

  /**
   * An unknown sender wrote to a pairing account: issue (or resend) a code where the rules allow,
   * and deliver it to the chat the message came from. {@code idempotencyKey} makes the delivery of
   * one message's code happen once.
   */
  public Future<Outcome> challenge(Inbound in, String idempotencyKey) {
    String account = in.channel() + "/" + in.accountId();
    Future<?> before = tails.getOrDefault(account, Future.succeededFuture());
    Future<Outcome> mine = before.transform(x -> challengeNow(in, idempotencyKey));
    tails.put(account, mine);
    mine.onComplete(x -> tails.remove(account, mine));
    return mine;
  }

  private Future<Outcome> challengeNow(Inbound in, String idempotencyKey) {
    Instant now = clock.instant();
    return store.purgeExpired(in.channel(), in.accountId(), now)
        .compose(v -> store.pending(in.channel(), in.accountId(), in.senderId(), now))
        .compose(pending -> {
          if (pending != null) {
            if (pending.notifiedAt().plus(RESEND_AFTER).isAfter(now)) {
              return Future.succeededFuture(Outcome.PENDING);
            }
            return store.notified(in.channel(), in.accountId(), in.senderId(), now)
                .compose(x -> deliver(in, pending.code(), pending.expiresAt(), now, idempotencyKey))
                .map(Outcome.CODE_RESENT);
          }
          return store.countPending(in.channel(), in.accountId(), now).compose(n -> {
            if (n >= MAX_PENDING) {
              LOG.info("pairing on {}/{}: {} codes are pending; sender {} gets none until one is approved or expires",
                  in.channel(), in.accountId(), n, in.senderId());
              return Future.succeededFuture(Outcome.FULL);
            }
            return issue(in, now, 0).compose(r -> deliver(in, r.code(), r.expiresAt(), now, idempotencyKey)
                // a code that never reached the sender must not block the next message for the window
                .recover(err -> store.withdraw(in.channel(), in.accountId(), in.senderId())
                    .transform(x -> Future.failedFuture(err)))
                .map(Outcome.CODE_SENT));
          });
        });
  }

  private Future<PairingStore.Request> issue(Inbound in, Instant now, int tries) {
    PairingStore.Request r = new PairingStore.Request(in.channel(), in.accountId(), in.senderId(), in.senderName(),
        newCode(), target(in).toJson(), now, now.plus(TTL), now);
    return store.insert(r).compose(inserted -> {
      if (inserted) {
        LOG.info("pairing on {}/{}: issued a code to sender {} (expires {})", in.channel(), in.accountId(),
            in.senderId(), r.expiresAt());
        return Future.succeededFuture(r);
      }
      if (tries >= 3) {
        return Future.failedFuture(new IllegalStateException("could not store a pairing request"));
      }
      return issue(in, now, tries + 1); // the sender raced itself, or the code was taken on this account
    });
  }

  /** Where the code goes: the chat (and thread) the message came from, never as a reply in a thread of others. */
  private static ReplyTarget target(Inbound in) {
    return new ReplyTarget(in.channel(), in.accountId(), in.peerKind(), in.peerId(), in.threadId(), null);
  }

  private Future<Void> deliver(Inbound in, String code, Instant expiresAt, Instant now, String idempotencyKey) {
    long minutes = Math.max(1, Duration.between(now, expiresAt).toMinutes());
    String text = "I don't know you yet. To talk to me, ask my operator to approve this pairing code:\n\n" + code
        + "\n\nIt expires in " + (minutes >= 60 ? minutes / 60 + " hour" + (minutes >= 120 ? "s" : "") : minutes + " minutes")
        + ".";
    return send(target(in), text, idempotencyKey);
  }

  private Future<Void> send(ReplyTarget target, String text, String idempotencyKey) {
    return bus.request(DeliveryAddresses.SEND, new JsonObject().put("target", target.toJson()).put("text", text)
        .put("idempotencyKey", idempotencyKey), SEND_TIMEOUT_MS).mapEmpty();
  }

  /** A fresh code: {@value #CODE_LENGTH} characters from {@link #ALPHABET}. */
  String newCode() {
    char[] c = new char[CODE_LENGTH];
    for (int i = 0; i < c.length; i++) {
      c[i] = ALPHABET.charAt(random.nextInt(ALPHABET.length()));
    }
    return new String(c);
  }

  /**
   * Approves a code on an account, tells the sender, and answers the approved request. Fails with
   * {@link Refused} when approvals are locked or no pending request holds the code (which counts
   * toward the lockout).
   */
  public Future<PairingStore.Request> approve(String channel, String accountId, String code, String approvedBy) {
    Instant now = clock.instant();
    String normalized = code == null ? "" : code.strip().toUpperCase(Locale.ROOT);
    return store.lockout(channel, accountId).compose(l -> {
      if (l.locked(now)) {
        return Future.failedFuture(new Refused("approvals on " + channel + "/" + accountId + " are locked after "
            + MAX_FAILURES + " failed attempts until " + l.lockedUntil(), true));
      }
      return store.approve(channel, accountId, normalized, approvedBy, now).compose(r -> {
        if (r == null) {
          return store.failed(channel, accountId, MAX_FAILURES, now.plus(LOCKOUT), now).compose(after -> {
            LOG.warn("pairing on {}/{}: an approval named no pending code ({} failed in a row{})", channel, accountId,
                after.locked(now) ? MAX_FAILURES : after.failures(), after.locked(now) ? "; approvals locked" : "");
            return Future.failedFuture(new Refused(after.locked(now)
                ? "no pending pairing request has this code; approvals on " + channel + "/" + accountId
                    + " are now locked until " + after.lockedUntil()
                : "no pending pairing request on " + channel + "/" + accountId + " has this code", after.locked(now)));
          });
        }
        LOG.info("pairing on {}/{}: sender {} approved by {}", channel, accountId, r.senderId(), approvedBy);
        ReplyTarget to = ReplyTarget.fromJson(r.target());
        return send(to, APPROVED_TEXT, "pairing-approved:" + channel + ":" + accountId + ":" + r.senderId() + ":"
                + now.toEpochMilli())
            .recover(err -> {
              LOG.info("pairing on {}/{}: the approval notice to {} was not queued: {}", channel, accountId,
                  r.senderId(), err.getMessage());
              return Future.succeededFuture();
            })
            .map(r);
      });
    });
  }

  public Future<List<PairingStore.Request>> pending() {
    return store.listPending(clock.instant());
  }

  public Future<List<PairingStore.Approval>> approved() {
    return store.approvals();
  }

  public Future<Boolean> revoke(String channel, String accountId, String senderId) {
    return store.revoke(channel, accountId, senderId).onSuccess(found -> {
      if (found) {
        LOG.info("pairing on {}/{}: approval of sender {} revoked", channel, accountId, senderId);
      }
    });
  }
}
