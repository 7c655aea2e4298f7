package dev.switchboard.http;

import dev.switchboard.routing.Pairing;
import dev.switchboard.store.PairingStore;
import dev.switchboard.workspace.RoutingRules;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * DM pairing for operators (scope {@code operator.pairing}): list pending codes and approved
 * senders, approve a code, revoke an approval. The rules live in {@link Pairing}; see
 * docs/sessions.md.
 */
final class PairingMethods {
  private PairingMethods() {
  }

  static void register(MethodTable t, ProtocolServer s) {
    t.add("pairing.list", Scopes.PAIRING, c -> list(s, c));
    t.add("pairing.approve", Scopes.PAIRING, c -> approve(s, c));
    t.add("pairing.revoke", Scopes.PAIRING, c -> revoke(s, c));
  }

  private static Future<JsonObject> list(ProtocolServer s, MethodCall c) {
    String channel = c.string("channel", false, 64);
    String accountId = c.string("accountId", false, 128);
    return Future.all(s.pairing().pending(), s.pairing().approved()).map(all -> {
      JsonArray requests = new JsonArray();
      for (PairingStore.Request r : all.<List<PairingStore.Request>>resultAt(0)) {
        if (matches(channel, accountId, r.channel(), r.accountId())) {
          requests.add(new JsonObject().put("channel", r.channel()).put("accountId", r.accountId())
              .put("senderId", r.senderId()).put("senderName", r.senderName()).put("code", r.code())
              .put("createdAt", r.createdAt().toEpochMilli()).put("expiresAt", r.expiresAt().toEpochMilli()));
        }
      }
      JsonArray approved = new JsonArray();
      for (PairingStore.Approval a : all.<List<PairingStore.Approval>>resultAt(1)) {
        if (matches(channel, accountId, a.channel(), a.accountId())) {
          approved.add(new JsonObject().put("channel", a.channel()).put("accountId", a.accountId())
              .put("senderId", a.senderId()).put("senderName", a.senderName()).put("approvedBy", a.approvedBy())
              .put("approvedAt", a.approvedAt().toEpochMilli()));
        }
      }
      return new JsonObject().put("requests", requests).put("approved", approved);
    });
  }

  private static boolean matches(String channel, String accountId, String rowChannel, String rowAccount) {
    return (channel == null || channel.equals(rowChannel)) && (accountId == null || accountId.equals(rowAccount));
  }

  private static Future<JsonObject> approve(ProtocolServer s, MethodCall c) {
    String channel = c.string("channel", true, 64);
    String code = c.string("code", true, 32);
    String accountId = account(s, c, channel);
    String by = c.connection.clientId == null ? "operator" : "operator:" + c.connection.clientId;
    return s.pairing().approve(channel, accountId, code, by)
        .<JsonObject>map(r -> new JsonObject().put("ok", true).put("channel", channel).put("accountId", accountId)
            .put("senderId", r.senderId()).put("senderName", r.senderName()))
        .recover(err -> Future.failedFuture(err instanceof Pairing.Refused refused
            ? new ProtocolError(ProtocolError.INVALID_REQUEST, refused.getMessage(),
                new JsonObject().put("locked", refused.locked()), null, null)
            : err));
  }

  private static Future<JsonObject> revoke(ProtocolServer s, MethodCall c) {
    String channel = c.string("channel", true, 64);
    String senderId = c.string("senderId", true, 256);
    String accountId = account(s, c, channel);
    return s.pairing().revoke(channel, accountId, senderId).map(found -> new JsonObject().put("ok", true)
        .put("revoked", found));
  }

  /** The account named, or the channel's only pairing account. */
  private static String account(ProtocolServer s, MethodCall c, String channel) {
    String accountId = c.string("accountId", false, 128);
    List<RoutingRules.ChannelAccount> pairingAccounts = s.workspace().routing().accounts().stream()
        .filter(a -> a.channel().equals(channel) && a.pairs()).toList();
    if (accountId != null) {
      if (s.workspace().routing().account(channel, accountId) == null) {
        throw c.invalid("no account " + channel + "/" + accountId + " is configured");
      }
      return accountId;
    }
    if (pairingAccounts.size() != 1) {
      throw c.invalid(pairingAccounts.isEmpty() ? "no account of " + channel + " issues pairing codes (dmPolicy"
          + " pairing with an empty allowFrom)"
          : channel + " has several pairing accounts; name one with 'accountId'");
    }
    return pairingAccounts.get(0).id();
  }
}
