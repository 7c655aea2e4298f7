package dev.switchboard.delivery;

import io.vertx.core.json.JsonObject;

/**
 * Where a reply goes: back to the channel, account, chat and thread a message came from (or an
 * explicit target). The model never chooses it.
 *
 * @param peerKind  {@code direct | group | channel}
 * @param peerId    the platform's chat id
 * @param threadId  thread or forum topic, or null
 * @param replyToId platform message id to reply to, or null
 */
public record ReplyTarget(String channel, String accountId, String peerKind, String peerId, String threadId,
    String replyToId) {

  public JsonObject toJson() {
    return new JsonObject().put("channel", channel).put("accountId", accountId).put("peerKind", peerKind)
        .put("peerId", peerId).put("threadId", threadId).put("replyToId", replyToId);
  }

  public static ReplyTarget fromJson(JsonObject j) {
    return new ReplyTarget(j.getString("channel"), j.getString("accountId"), j.getString("peerKind"),
        j.getString("peerId"), j.getString("threadId"), j.getString("replyToId"));
  }
}
