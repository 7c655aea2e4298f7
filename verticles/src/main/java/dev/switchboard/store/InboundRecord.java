package dev.switchboard.store;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * An accepted inbound message as stored.
 *
 * @param status    {@code received} (stored, not yet queued), {@code queued} (a lane holds it),
 *                  {@code done} (its turn ended or it needed none), {@code rejected} (access policy)
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

  public boolean finished() {
    return DONE.equals(status) || REJECTED.equals(status);
  }
}
