package dev.switchboard.store;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * A delivery obligation: "this reply is owed to that place". Written in the same transaction as the
 * reply itself, so a reply that exists is always either delivered or still owed.
 *
 * @param target   where to: {@code {peer: {kind, id}, threadId?, replyToId?}} on {@code channel}/{@code accountId}
 * @param payload  what: {@code {text, sessionKey, runId, stopReason, usage, ...}}
 * @param status   {@code pending | sending | delivered | failed | ambiguous} (ambiguous: ended without
 *                 knowing whether the user got it, after a marked resend)
 * @param receipts platform message ids of what was sent, one per chunk (a partly sent reply resumes after them)
 * @param reconcile the last attempt's outcome is unknown: check (or mark) before sending again
 * @param marked   a resend marked as a possible duplicate was made
 */
public record Obligation(String id, String runId, String sessionId, String channel, String accountId,
    JsonObject target, JsonObject payload, String status, int attempts, Instant nextAttemptAt,
    Instant createdAt, Instant deliveredAt, String lastError, JsonArray receipts, boolean reconcile, boolean marked) {

  public static final String PENDING = "pending";
  public static final String SENDING = "sending";
  public static final String DELIVERED = "delivered";
  public static final String FAILED = "failed";
  public static final String AMBIGUOUS = "ambiguous";

  public static Obligation create(String runId, String sessionId, String channel, String accountId,
      JsonObject target, JsonObject payload) {
    Instant now = Instant.now();
    return new Obligation(Ids.next(), runId, sessionId, channel, accountId, target, payload, PENDING, 0,
        now, now, null, null, new JsonArray(), false, false);
  }

  /**
   * An obligation to the live connections of this process (webchat): written already delivered,
   * with the reply, and then handed to them once without claim or receipt. It cannot outlive the
   * process that holds those connections: they close with it, and clients that reconnect read the
   * reply from the transcript, so there is nothing a restart could still owe, and two commits per
   * reply are saved.
   */
  public static Obligation live(String runId, String sessionId, String channel, String accountId,
      JsonObject target, JsonObject payload) {
    Instant now = Instant.now();
    return new Obligation(Ids.next(), runId, sessionId, channel, accountId, target, payload, DELIVERED, 1,
        now, now, now, null, new JsonArray(), false, false);
  }

  /** The same obligation after a successful claim: one more attempt, now being sent. */
  public Obligation claimed() {
    return new Obligation(id, runId, sessionId, channel, accountId, target, payload, SENDING, attempts + 1,
        nextAttemptAt, createdAt, deliveredAt, lastError, receipts, reconcile, marked);
  }

  public static Obligation fromJson(JsonObject j) {
    return new Obligation(j.getString("id"), j.getString("runId"), j.getString("sessionId"), j.getString("channel"),
        j.getString("accountId"), j.getJsonObject("target"), j.getJsonObject("payload"), j.getString("status"),
        j.getInteger("attempts", 0),
        j.getLong("nextAttemptAt") == null ? null : Instant.ofEpochMilli(j.getLong("nextAttemptAt")),
        Instant.ofEpochMilli(j.getLong("createdAt")),
        j.getLong("deliveredAt") == null ? null : Instant.ofEpochMilli(j.getLong("deliveredAt")),
        j.getString("lastError"), j.getJsonArray("receipts", new JsonArray()), j.getBoolean("reconcile", false),
        j.getBoolean("marked", false));
  }

  public JsonObject toJson() {
    return new JsonObject().put("id", id).put("runId", runId).put("sessionId", sessionId)
        .put("channel", channel).put("accountId", accountId).put("target", target).put("payload", payload)
        .put("status", status).put("attempts", attempts)
        .put("nextAttemptAt", nextAttemptAt == null ? null : nextAttemptAt.toEpochMilli())
        .put("createdAt", createdAt.toEpochMilli())
        .put("deliveredAt", deliveredAt == null ? null : deliveredAt.toEpochMilli())
        .put("lastError", lastError).put("receipts", receipts).put("reconcile", reconcile).put("marked", marked);
  }
}
