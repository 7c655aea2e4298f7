package dev.switchboard.store;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * An accepted inbound message as stored.
 *
 * @param status    {@code received} (stored, not yet queued), {@code queued} (a lane holds it),
 *                  {@code done} (its turn ended or it needed none), {@code rejected} (access policy),
 *                  {@code refused} (its session's queue was full: not resumed after a restart, but a
 *                  copy of it the platform sends again is routed again)
 * @param payload   the normalised inbound message
 * @param duplicate true when this call found the message already stored (a replay)
 */
public record InboundRecord(String id, String channel, String accountId, String platformMessageId,
    String runId, String sessionKey, String sessionId, String status, JsonObject payload,
    Instant receivedAt, boolean duplicate) {

  public static final String RECEIVED = "received";
  public static final String QUEUED = "queued";
  public static final String DONE = "done";
  public static final String REJECTED = "rejected";
  public static final String REFUSED = "refused";

  public boolean finished() {
    return DONE.equals(status) || REJECTED.equals(status);
  }

  /** No lane has taken it: a copy of it arriving again is routed again. */
  public boolean routable() {
    return RECEIVED.equals(status) || REFUSED.equals(status);
  }
}
