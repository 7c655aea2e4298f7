package dev.switchboard.channels.telegram;

import io.vertx.core.json.JsonObject;

/**
 * What one bot account is doing, for the gateway's status view: its transport state
 * ({@code starting | polling | webhook | conflict | unauthorized | rate-limited | retrying | stopped}),
 * why (Telegram's description), since when, and the last update handed in.
 */
final class AccountStatus {
  private final String accountId;
  private final String mode;
  private String state = "starting";
  private String detail;
  private long since = System.currentTimeMillis();
  private long lastUpdateAt;
  private String botUsername;

  AccountStatus(String accountId, String mode) {
    this.accountId = accountId;
    this.mode = mode;
  }

  void state(String state, String detail) {
    if (!state.equals(this.state)) {
      since = System.currentTimeMillis();
    }
    this.state = state;
    this.detail = detail;
  }

  String state() {
    return state;
  }

  void updateHandled() {
    lastUpdateAt = System.currentTimeMillis();
  }

  void bot(String username) {
    botUsername = username;
  }

  JsonObject toJson() {
    return new JsonObject().put("channel", TelegramChannelVerticle.CHANNEL).put("accountId", accountId)
        .put("mode", mode).put("state", state).put("detail", detail).put("since", since)
        .put("lastUpdateAt", lastUpdateAt == 0 ? null : lastUpdateAt).put("bot", botUsername);
  }
}
